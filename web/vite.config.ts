import { fileURLToPath, URL } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

const backend = process.env.MAILMIND_BACKEND ?? "http://127.0.0.1:9000";

export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) },
  },
  server: {
    port: 3000,
    strictPort: true,
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/ws": { target: backend.replace(/^http/, "ws"), ws: true },
    },
  },
  preview: { port: 3000 },
  build: {
    target: "es2022",
    sourcemap: false,
    // The password-strength dictionaries (zxcvbn) are one large chunk, loaded only by the
    // register and reset pages; the initial load is checked by `npm run size`.
    chunkSizeWarningLimit: 2600,
    rollupOptions: {
      output: {
        manualChunks(id) {
          if (id.includes("@zxcvbn-ts")) return "zxcvbn";
          if (/node_modules\/(react|react-dom|scheduler|react-router)\//.test(id)) return "react";
          if (id.includes("node_modules/@tanstack/")) return "tanstack";
          if (/node_modules\/(i18next|react-i18next)/.test(id)) return "i18n";
          return undefined;
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    css: false,
    restoreMocks: true,
  },
});

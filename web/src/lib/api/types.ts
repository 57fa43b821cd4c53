import type { Schemas } from "./client";

export type EmailSummary = Schemas["EmailSummary"];
export type EmailDetail = Schemas["EmailDetail"];
export type EmailPage = Schemas["EmailPage"];
export type Folder = Schemas["FolderRead"];
export type Account = Schemas["AccountRead"];
export type Thread = Schemas["ThreadDetail"];
export type User = Schemas["UserRead"];
export type Address = Schemas["AddressRead"];
export type Attachment = Schemas["mailmind__message__schemas__AttachmentRead"];
export type BulkAction =
  "mark_read" | "mark_unread" | "star" | "unstar" | "archive" | "delete" | "move";

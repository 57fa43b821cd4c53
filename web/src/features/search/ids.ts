/** The `:view` of `/mail/:view` that shows search results, and the one that shows Ask. */
export const SEARCH_VIEW = "search";
export const ASK_VIEW = "ask";
/** The question field of the Ask panel, focused by the header's Ask button and shortcut. */
export const ASK_INPUT_ID = "ask-question";
/** Search result rows hold a two-line snippet. */
export const SEARCH_ROW_HEIGHT = 104;

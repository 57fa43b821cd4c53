"""Local AI for English and German mail: priority with reasons, tag suggestions, extractive
summaries with action items, reply suggestions and the date parsing they share. Pure functions:
no I/O, deterministic for the same input (relative dates resolve against the mail's date)."""

from mailmind.ai.local.dates import FoundDate, deadlines, find_dates
from mailmind.ai.local.priority import Priority, Reason, band, score_priority
from mailmind.ai.local.suggest import MessageFields, Suggestion, Tone, suggest_replies
from mailmind.ai.local.summarize import ActionItem, Style, Summary, summarize, summarize_messages
from mailmind.ai.local.tags import TagSuggestion, key_phrases, suggest_tags

__all__ = [
    "ActionItem",
    "FoundDate",
    "MessageFields",
    "Priority",
    "Reason",
    "Style",
    "Suggestion",
    "Summary",
    "TagSuggestion",
    "Tone",
    "band",
    "deadlines",
    "find_dates",
    "key_phrases",
    "score_priority",
    "suggest_replies",
    "suggest_tags",
    "summarize",
    "summarize_messages",
]

"""The ordered steps of the pipeline and which of them a message gets.

Stages run in order; the steps of one stage run concurrently. ``embed`` comes first because the
classifier reads the message's vector; summaries and suggestions read the classification and
priority of the stages before them.
"""

from __future__ import annotations

import importlib

import structlog

from mailmind.pipeline.base import FEATURES, MessageInput, Step, UserContext

log = structlog.get_logger(__name__)

STAGES: tuple[tuple[str, ...], ...] = (
    ("embed",),
    ("classify", "priority", "tags"),
    ("summary",),
    ("suggestions",),
)
STEP_NAMES = tuple(name for stage in STAGES for name in stage)
# PRODUCT_SPEC §2.5: mail in Spam and Trash is only classified.
CLASSIFY_ONLY_ROLES = frozenset({"spam", "trash"})
# Imported and backfilled mail gets no precomputed summary or suggestions (on demand only).
NOT_FOR_BACKFILL = frozenset({"summary", "suggestions"})


def planned_features(
    message: MessageInput, user: UserContext, *, account_enabled: bool
) -> set[str]:
    """The AI features to compute for ``message``; empty means "skipped"."""
    if not account_enabled or user.ai.get("enabled", True) is False:
        return set()
    features = {f for f in FEATURES if user.feature_enabled(f)}
    if message.folder_role in CLASSIFY_ONLY_ROLES:
        features &= {"classify"}
    if message.backfill:
        features -= NOT_FOR_BACKFILL
    return features


_steps: dict[str, Step | None] = {}


def load_step(name: str) -> Step | None:
    """The step ``STEP`` of ``mailmind.pipeline.steps.<name>``; None (logged once) when that
    module is not installed, and the feature is then missing from the results ("partial")."""
    if name not in _steps:
        module_name = f"mailmind.pipeline.steps.{name}"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            log.warning("pipeline_step_missing", step=name)
            _steps[name] = None
        else:
            _steps[name] = module.STEP
    return _steps[name]

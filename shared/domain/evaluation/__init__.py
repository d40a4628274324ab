"""Evaluating an application against the requirements catalog (pure core)."""

from shared.domain.evaluation.evaluate import evaluate
from shared.domain.evaluation.fingerprint import fingerprint
from shared.domain.evaluation.image_facts import is_colour_image
from shared.domain.evaluation.outcomes import Evaluation, RuleOutcome, Verdict

__all__ = ["Evaluation", "RuleOutcome", "Verdict", "evaluate", "fingerprint", "is_colour_image"]

"""Evaluating an application against the requirements catalog (pure core)."""

from shared.evaluation.evaluate import evaluate
from shared.evaluation.fingerprint import fingerprint
from shared.evaluation.image_facts import is_colour_image
from shared.evaluation.outcomes import Evaluation, RuleOutcome, Verdict

__all__ = ["Evaluation", "RuleOutcome", "Verdict", "evaluate", "fingerprint", "is_colour_image"]

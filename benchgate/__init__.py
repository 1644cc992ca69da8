"""benchgate: regression-test LLMs behind OpenAI-compatible endpoints as a pytest suite."""

from benchgate.grade import Grade
from benchgate.task import Completion, Context, Judged, Task, Verdict

__all__ = ["Completion", "Context", "Grade", "Judged", "Task", "Verdict"]
__version__ = "0.1.0"

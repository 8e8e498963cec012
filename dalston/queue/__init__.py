from dalston.queue.base import TaskEvent, TaskEventKind, TaskMessage, TaskQueue
from dalston.queue.memory import InProcessQueue

__all__ = ["InProcessQueue", "TaskEvent", "TaskEventKind", "TaskMessage", "TaskQueue"]

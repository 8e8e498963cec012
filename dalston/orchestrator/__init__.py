from dalston.orchestrator.dag import StageSpec, build_dag
from dalston.orchestrator.orchestrator import Orchestrator
from dalston.orchestrator.states import JobStatus, TaskStatus

__all__ = ["JobStatus", "Orchestrator", "StageSpec", "TaskStatus", "build_dag"]

"""The baseline workflow: does nothing, optionally waits, and answers a no-op update."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, hold: bool) -> None:
        if hold:
            await workflow.wait_condition(lambda: self._done)

    @workflow.update
    def ping(self, n: int) -> int:
        return n

    @workflow.signal
    def finish(self) -> None:
        self._done = True

"""Carrying out a plan on one destination cluster: the only place in `drsyncer.sync` that writes.

`execute` takes a `Plan` (pure, from `plan.plan`) and a `ClusterClient` and performs the plan's
writes stage by stage (`Plan.stages()`), at most `Limits.concurrency` under way at once, inside the
client's rate limit; a stage starts when the previous one has finished, so what an object refers to
exists before it is written. A stage's creates are sent first, together, from the calling thread
(`ClusterClient.create_all`, libcurl's multi interface): a cold sync is all creates, and a thread per
request cost more CPU than the request itself once many processes shared the cores. The rest of the
stage (updates, prunes, and each create whose one request did not come back created) overlaps on the
threads of a pool the process keeps for every plan. Every outcome lands in a `TargetResult`; a failing
object is recorded with its category and message and never stops the others.

The executor decides nothing itself. When a write finds the object other than the plan saw it
(409 Conflict on an update, AlreadyExists on a create, NotFound on a re-read), it reads the object
again, asks `decide.decide` (the planner's own decision) what to do with it now, and carries that
out: a copy deleted or re-owned meanwhile is skipped with the planner's reason, an unchanged one is
left alone, a changed one is written with a body rebuilt from the fresh read. How each action runs
(docs/sync-semantics.md):
- create: POST the desired object (in the stage's batch; one that does not come back created goes
  on from that answer on a write thread, as the client's retry policy says after such a first
  attempt);
- update: PUT the planned body (it carries the resourceVersion read while planning); every conflict
  round goes through one loop (`kube.retry.retry_on_conflict`, the client's policy);
- an immutable change, by its handling: NoChange → nothing written, reported as held back;
  PartialUpdate → the same update loop with the immutable fields left as they are; Recreate,
  RecreateWithPodDrain, ForceUpdate → a dry-run create checks that the destination would take the
  new object (when it would not, the object fails with its answer and the copy stays), then delete
  (RecreateWithPodDrain evicts the Pods using the object first, drsyncer.sync.drain; ForceUpdate
  deletes in the foreground), wait until the object is gone, create the desired object. An update
  the API refuses (422 Invalid, a 403 naming Forbidden fields, or an admission plugin's 403)
  although the planner saw no such change gets the same treatment, the refused fields taken from
  the Status causes;
- prune: DELETE with the destination uid as a precondition (drsyncer.sync.delete, shared with cleanup).
After a stage of CustomResourceDefinitions the executor waits for them to be served
(drsyncer.sync.crd_wait) before the custom resources of the next stages are written.

Dry run: the plan is reported as it stands and nothing is sent but reads (the namespace check),
so a dry run works even with credentials that may only read. (A server-side `dryRun=All` would
also validate each object, at the cost of one request per object; the plan already says what
would be written.)
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from concurrent.futures import Future, wait
from contextvars import copy_context
from dataclasses import dataclass, field, replace
from typing import Any

from drsyncer.api import keys
from drsyncer.errors import CategorisedError, Category
from drsyncer.kube import ApiError, ClusterClient, ResourceRef
from drsyncer.kube.client import NAMESPACES
from drsyncer.kube.errors import AlreadyExists, Conflict, Forbidden, Invalid, NotServed, Unreachable
from drsyncer.kube.retry import Attempt, retry_on_conflict
from drsyncer.sync.actions import Action, Op
from drsyncer.sync.crd_wait import CRD_GROUP, CRD_KIND, installed_crd, wait_established
from drsyncer.sync.decide import decide, wanted_again
from drsyncer.sync.delete import delete_copy, wait_gone
from drsyncer.sync.drain import drain
from drsyncer.sync.immutable import described_handling, resolve_handling
from drsyncer.sync.merge import (
    PUT_BACK_REFUSED,
    changed_fields,
    created_again,
    dry_run_replacement,
    partial_body,
    update_body,
)
from drsyncer.sync.namespace_metadata import creation_metadata, patch_for
from drsyncer.sync.objects import Key, Obj, annotations_of
from drsyncer.sync.ownership import destination_namespace
from drsyncer.sync.plan import Plan
from drsyncer.sync.result import (
    DeploymentScale,
    KindCounts,
    ObjectError,
    Outcome,
    Skip,
    TargetResult,
    count_key,
)
from drsyncer.sync.rules import ImmutableHandling, Rules
from drsyncer.sync.threads import kept_pool, start_threads
from drsyncer.sync.tokens import account_of, is_token_secret

log = logging.getLogger(__name__)
# one line per object not written (a worker's record of it); `drsyncer sync` prints these from the
# result instead, so it quiets this logger alone
not_written_log = logging.getLogger(f"{__name__}.not_written")


@dataclass(frozen=True)
class Limits:
    """How hard and how long the executor works on one destination."""

    concurrency: int = 16  # writes in flight at once (a worker's: DRSYNCER_WRITE_CONCURRENCY)
    crd_established_timeout_s: float = 60.0
    # a token Secret is written once the ServiceAccount it names exists in the destination; a new
    # namespace's `default` account is made by its serviceaccount controller a moment after it
    service_account_timeout_s: float = 10.0
    deletion_timeout_s: float = 120.0  # a recreate waits this long for the old object to go
    # consecutive "cannot connect"/timeouts after which the destination counts as unreachable and the
    # remaining writes are not attempted (each would wait through the client's retries for nothing)
    unreachable_after: int = 3
    # source objects a sync holds in full at once: read, planned and written to every destination
    # before the next ones are read (drsyncer.sync.namespace_sync)
    chunk: int = 500

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.chunk < 1:
            raise ValueError("chunk must be at least 1")


@dataclass
class _Done:
    """What one action came to; built on a worker thread, folded into the result on the caller's."""

    outcome: Outcome
    error: ObjectError | None = None
    warning: str | None = None
    attempted: bool = True
    skip: Skip | None = None  # why nothing was written, for a skipped outcome


@dataclass
class _Breaker:
    """Counts consecutive connection failures so a destination that went away is given up on."""

    limit: int
    failures: int = 0
    reason: str = ""
    reason_category: Category = Category.RETRYABLE
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def open(self) -> bool:
        return bool(self.reason)

    def record(self, error: BaseException | None) -> None:
        with self.lock:
            if isinstance(error, Unreachable):
                self.failures += 1
                if self.failures >= self.limit and not self.reason:
                    self.reason = error.message
                    self.reason_category = error.category
            else:
                self.failures = 0


def execute(
    plan: Plan,
    target: ClusterClient,
    rules: Rules,
    *,
    concurrency: int | None = None,
    dry_run: bool = False,
    limits: Limits | None = None,
    result: TargetResult | None = None,
) -> TargetResult:
    """Apply `plan` to `target` (its destination namespace is `plan.destination_namespace`).

    Returns the `TargetResult` (`result`, if given, is filled in and returned), finished with its
    duration and phase. Raises nothing for a failing object or an unreachable destination: both are
    recorded in the result.
    """
    limits = limits or Limits()
    if concurrency is not None:
        limits = replace(limits, concurrency=concurrency)
    started = time.monotonic()
    if result is None:
        result = TargetResult(target.name, plan.source_namespace, plan.destination_namespace)
    result.dry_run = dry_run
    result.warnings.extend(plan.warnings)
    runner = _Runner(target, rules, plan, limits)
    try:
        if dry_run:
            _report_plan(plan, runner, result)
        else:
            _apply(plan, runner, result)
    finally:
        runner.close()
    return result.finish(time.monotonic() - started)


def _report_plan(plan: Plan, runner: _Runner, result: TargetResult) -> None:
    for kind, counts in plan.counts().items():
        result.counts.setdefault(kind, KindCounts()).merge(counts)
    result.deployment_scales.extend(plan.deployment_scales())
    for action in plan:
        if action.outcome == Outcome.SKIPPED:
            result.note_skip(action.skip_record())
        if action.op == Op.FAIL:
            result.errors.append(action.failure_record())
            _log_failure(action, runner)
        note = _planned_note(action)
        if note:
            result.warnings.append(note)
    if any(a.writes and a.key.namespace for a in plan):
        try:
            if not runner.namespace_exists():
                result.warnings.append(
                    f"Namespace {plan.destination_namespace} does not exist and would be created"
                )
        except CategorisedError as exc:
            result.warnings.append(f"could not check Namespace {plan.destination_namespace}: {exc.message}")


def _planned_failure(action: Action, runner: _Runner, result: TargetResult) -> None:
    """An object planning found cannot be written (a modifier failed): failed, never written unmodified."""
    result.fail(action.count_key, action.failure_record())
    _log_failure(action, runner)


def _log_failure(action: Action, runner: _Runner) -> None:
    not_written_log.warning("%s not written to %s: %s", action.key, runner.client.name, action.reason)


def _planned_note(action: Action) -> str | None:
    if action.immutable is not None:
        return f"{action.key}: {action.immutable.describe()}"
    if action.op == Op.SKIP and action.reason.startswith("conflict"):
        return f"{action.key}: skipped, {action.reason}"
    return None


def _apply(plan: Plan, runner: _Runner, result: TargetResult) -> None:
    scales: dict[Key, DeploymentScale] = {}
    for action in plan:
        if not action.writes:
            if action.op == Op.FAIL:
                _planned_failure(action, runner, result)
            elif action.outcome == Outcome.SKIPPED:
                result.skip(action.skip_record())
            else:
                result.record(action.count_key, action.outcome)
            note = _planned_note(action)
            if note:
                result.warnings.append(note)
    stages = plan.stages()
    namespace_error: CategorisedError | None = None
    namespace_checked = False
    not_attempted = 0
    for stage in stages:
        namespaced = bool(stage[0].key.namespace)
        if namespaced and not namespace_checked:
            namespace_checked = True
            namespace_error = runner.ensure_namespace()
            if namespace_error is not None:
                result.error = f"Namespace {plan.destination_namespace}: {namespace_error.message}"
                result.error_category = namespace_error.category
                result.errors.append(
                    ObjectError(
                        "Namespace",
                        "",
                        plan.destination_namespace,
                        namespace_error.category,
                        namespace_error.message,
                    )
                )
        if runner.breaker.open or (namespace_error is not None and namespaced):
            for action in stage:
                result.record(action.count_key, Outcome.FAILED)
            not_attempted += len(stage) if runner.breaker.open else 0
            continue
        stage = _held_for_accounts(stage, runner, result)
        if not stage:
            continue
        written: list[str] = []
        for action, done in runner.run_stage(stage):
            not_attempted += not done.attempted
            if done.error is not None:
                result.fail(action.count_key, done.error)
            elif done.outcome == Outcome.SKIPPED:
                result.skip(
                    done.skip
                    or Skip(
                        action.count_key, action.key.namespace, action.key.name, done.warning or "not written"
                    )
                )
            else:
                result.record(action.count_key, done.outcome)
            if done.warning:
                result.warnings.append(done.warning)
            if done.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED):
                written.append(action.key.name)
            scale = action.written_scale(done.outcome)  # only copies this run wrote report replicas
            if scale is not None:
                scales[action.key] = scale
        if stage[0].key.group == CRD_GROUP and stage[0].key.kind == CRD_KIND:
            result.warnings.extend(runner.wait_established(written))
    if not namespace_checked and plan.namespace_metadata is not None and not runner.breaker.open:
        runner.keep_namespace_metadata()
    result.warnings.extend(runner.namespace_warnings)
    if runner.breaker.open:
        result.error = (
            f"destination cluster {runner.client.name} is unreachable "
            f"({runner.breaker.reason}); {not_attempted} write(s) not attempted"
        )
        result.error_category = runner.breaker.reason_category
    # in plan order, whatever order the writes of a stage finished in
    result.deployment_scales.extend(s for a in plan if (s := scales.pop(a.key, None)) is not None)


def _held_for_accounts(stage: list[Action], runner: _Runner, result: TargetResult) -> list[Action]:
    """The stage less the token Secrets to write whose ServiceAccount is not in the destination (even
    after `Limits.service_account_timeout_s`), each recorded as skipped: the destination's token
    controller deletes a token Secret whose account does not exist (drsyncer.sync.tokens), so it
    would be reported written and be gone a moment later. The accounts copied by the run were written
    by an earlier stage; `default` is made by the destination itself, a moment after a new namespace."""
    waiting: dict[str, list[Action]] = {}
    for action in stage:
        if (
            action.op in (Op.CREATE, Op.UPDATE)
            and action.desired is not None
            and is_token_secret(action.desired)
        ):
            waiting.setdefault(account_of(action.desired), []).append(action)
    if not waiting:
        return stage
    missing = runner.missing_accounts(sorted(waiting))
    if not missing:
        return stage
    held = {id(action): account for account in missing for action in waiting[account]}
    for action in stage:
        account = held.get(id(action))
        if account is not None:
            reason = (
                f"its ServiceAccount {account} does not exist in the destination "
                f"namespace {runner.namespace} after {runner.limits.service_account_timeout_s:.0f}s "
                "(the destination's token controller would delete the copy); the next sync writes it"
            )
            result.skip(Skip(action.count_key, action.key.namespace, action.key.name, reason))
            result.warnings.append(f"{action.key}: not written: {reason}")
    return [action for action in stage if id(action) not in held]


class _Runner:
    """The per-destination machinery: a thread pool, resource lookups and the action handlers."""

    def __init__(self, client: ClusterClient, rules: Rules, plan: Plan, limits: Limits) -> None:
        self.client = client
        self.rules = rules
        self.namespace = plan.destination_namespace
        self.source_namespace = plan.source_namespace
        self.limits = limits
        self.version = plan.server_version
        self.namespace_metadata = plan.namespace_metadata
        self.namespace_warnings: list[str] = []
        self.breaker = _Breaker(limits.unreachable_after)
        self._drains: list[Future[None]] = []  # this runner's work on the shared pool
        self._refs: dict[tuple[str, str], ResourceRef | NotServed] = {}
        self._refs_lock = threading.RLock()  # ref() may wait for a CRD, which forgets the refs

    def close(self) -> None:
        # nothing of this plan is still being written once execute returns, even after a failure
        wait(self._drains)

    # -- stages -----------------------------------------------------------------------------------

    def run_stage(self, stage: list[Action]) -> Iterator[tuple[Action, _Done]]:
        """Run a stage's actions concurrently; yields (action, outcome) in completion order.

        Creates go first, together: one request each from this thread (`ClusterClient.create_all`),
        which is what a cold sync is made of. Whatever else the stage holds, and every create whose
        request did not come back created, is carried out on the write threads, each create going
        on from its first attempt's answer (AlreadyExists: read and decide again; a 429 or 5xx:
        retried as the client's policy says)."""
        rest: list[tuple[Action, Attempt | None]] = [(action, None) for action in stage]
        if len(stage) > 1 and self.limits.concurrency > 1:
            rest = yield from self._create_together(stage)
        yield from self._run_threaded(rest)

    def _create_together(
        self, stage: list[Action]
    ) -> Generator[tuple[Action, _Done], None, list[tuple[Action, Attempt | None]]]:
        """Send the stage's creates in one batch per resource type; yields those created and returns
        the rest of the stage, each create with its first attempt (None: not sent)."""
        batches: dict[tuple[str, str], list[Action]] = {}
        rest: list[tuple[Action, Attempt | None]] = []
        for action in stage:
            if action.op == Op.CREATE and action.desired is not None:
                batches.setdefault((action.key.group, action.key.kind), []).append(action)
            else:
                rest.append((action, None))
        for batch in batches.values():
            if self.breaker.open or len(batch) == 1:
                rest.extend((action, None) for action in batch)
                continue
            try:
                ref = self.ref(batch[0])  # (a type not served: each create fails on the threads)
                answers = self.client.create_all(
                    ref,
                    batch[0].key.namespace or None,
                    [action.desired for action in batch if action.desired is not None],
                    concurrency=self.limits.concurrency,
                    give_up_after=self.limits.unreachable_after,
                )
            except CategorisedError:
                rest.extend((action, None) for action in batch)
                continue
            for action, answer in zip(batch, answers, strict=True):
                if isinstance(answer, dict):
                    self.breaker.record(None)
                    yield action, _Done(Outcome.CREATED)
                else:
                    rest.append((action, answer))
        return rest

    def _run_threaded(self, stage: list[tuple[Action, Attempt | None]]) -> Iterator[tuple[Action, _Done]]:
        """Run (action, its create's first error) pairs on the write threads."""
        if len(stage) <= 1 or self.limits.concurrency == 1:
            for action, first in stage:
                yield action, self._run(action, first)
            return
        pool = kept_pool("sync-write", _WRITE_THREADS_MAX)
        # each pool thread takes the stage's next action itself when it is done with one, so at most
        # `concurrency` actions are under way, and keeps what it came to; the caller waits once for
        # the stage rather than being woken for every object (a future per object, waited on as a
        # set, cost a lock round on every pending one)
        actions = iter(stage)
        taking = threading.Lock()
        failed = threading.Event()  # a thread failed beyond an object's failure: take no more actions
        finished: list[tuple[Action, _Done]] = []
        drains = [
            # a copy of the caller's context per thread: the audit log's actor goes with the writes
            pool.submit(copy_context().run, self._take_and_run, actions, taking, failed, finished)
            for _ in range(min(self.limits.concurrency, len(stage)))
        ]
        self._drains.extend(drains)
        wait(drains)
        for job in drains:
            job.result()  # raises what ended a thread
        yield from finished

    def _take_and_run(
        self,
        actions: Iterator[tuple[Action, Attempt | None]],
        taking: threading.Lock,
        failed: threading.Event,
        finished: list[tuple[Action, _Done]],
    ) -> None:
        while not failed.is_set():
            with taking:
                item = next(actions, None)
            if item is None:
                return
            action, first = item
            try:
                finished.append((action, self._run(action, first)))  # (list.append is atomic)
            except BaseException:
                failed.set()
                raise

    def _run(self, action: Action, first: Attempt | None = None) -> _Done:
        """Carry out `action`; `first`: its create's first attempt, made in a batch."""
        if self.breaker.open:
            if first is None:
                return _Done(Outcome.FAILED, attempted=False)
            # sent in the batch and failed there: that is its outcome, in the result and the audit log
            # (its type was resolved for the batch: the lookup is the cached one)
            with contextlib.suppress(CategorisedError):
                ref = self.ref(action)
                self.client.record_abandoned(ref, action.key.namespace or None, action.desired or {}, first)
            return _Done(Outcome.FAILED, self._error(action, first.error))
        try:
            if action.op == Op.PRUNE:
                done = self._prune(action)
            else:
                done = self._carry(action, self.ref(action), action, first)
        except CategorisedError as exc:
            self.breaker.record(exc)
            return _Done(Outcome.FAILED, self._error(action, exc))
        except Exception as exc:  # an unexpected failure of one object must not stop the others
            log.exception("syncing %s to %s failed", action.key, self.client.name)
            return _Done(
                Outcome.FAILED,
                self._error(
                    action,
                    CategorisedError(Category.NON_RETRYABLE, f"internal error: {type(exc).__name__}: {exc}"),
                ),
            )
        self.breaker.record(None)
        return done

    def _error(self, action: Action, exc: CategorisedError) -> ObjectError:
        key = action.key
        return ObjectError(count_key(key.group, key.kind), key.namespace, key.name, exc.category, exc.message)

    # -- resource types ---------------------------------------------------------------------------

    def ref(self, action: Action) -> ResourceRef:
        body = action.desired or action.body
        gk = (action.key.group, action.key.kind)
        cached = self._refs.get(gk)
        if cached is not None:
            if isinstance(cached, NotServed):
                # a type not served fails every object of it the same way, without new lookups
                raise NotServed(cached.api_message, cluster=cached.cluster)
            return cached
        with self._refs_lock:
            try:
                ref = self._lookup(body, gk)
            except NotServed:
                # the cached discovery may predate a CRD another task (or another Replication) has just
                # installed here: look once more with fresh discovery before failing the whole type
                self.client.discovery.invalidate()
                try:
                    ref = self._lookup(body, gk)
                except NotServed as exc:
                    # a CRD installed a moment ago (by this run in another namespace's task, or anyone)
                    # is served only once Established, and a new group a moment after that
                    installed = installed_crd(self.client, *gk)
                    if installed is None or self.wait_established([installed]):
                        self._refs[gk] = exc
                        raise
                    ref = self._lookup(body, gk)
            self._refs[gk] = ref
            return ref

    def _lookup(self, body: Obj | None, gk: tuple[str, str]) -> ResourceRef:
        return self.client.ref_for(body) if body is not None else self._ref_by_group_kind(*gk)

    def _ref_by_group_kind(self, group: str, kind: str) -> ResourceRef:
        served = self.client.discovery.served()
        found = [r for r in served.refs if r.group == group and r.kind == kind]
        found.sort(key=lambda r: r.api_version not in served.preferred)
        if not found:
            what = f"{kind}.{group}" if group else kind
            raise NotServed(f"{what} is not served by cluster {self.client.name}", cluster=self.client.name)
        return found[0]

    def forget_refs(self) -> None:
        with self._refs_lock:
            self._refs.clear()

    # -- the destination namespace ----------------------------------------------------------------

    def namespace_exists(self) -> bool:
        return self.client.get(NAMESPACES, None, self.namespace) is not None

    def ensure_namespace(self) -> CategorisedError | None:
        """Create the destination namespace if it is missing (read first, so a resync writes nothing;
        an identity without `get` on Namespaces tries the create and takes AlreadyExists as present).

        Returns why the namespace cannot take objects, or None.
        """
        readable = True
        try:
            existing = self.client.get(NAMESPACES, None, self.namespace)
        except Forbidden:
            # not allowed to read Namespaces: creating one answers AlreadyExists when it is there
            existing, readable = None, False
        except ApiError as exc:
            self.breaker.record(exc)
            return exc
        if existing is not None:
            if (existing.get("metadata") or {}).get("deletionTimestamp"):
                return CategorisedError(
                    Category.WAIT_FOR_NEXT_SYNC,
                    "is being deleted in the destination; the next sync recreates it",
                )
            self._patch_metadata(existing)
            return None
        try:
            body = destination_namespace(
                self.namespace, source_namespace=self.source_namespace, rules=self.rules
            )
            if self.namespace_metadata is not None:
                labels, annotations = creation_metadata(self.namespace_metadata)
                body["metadata"]["labels"] = {**labels, **body["metadata"]["labels"]}
                body["metadata"]["annotations"] = {**annotations, **body["metadata"]["annotations"]}
            self.client.create(NAMESPACES, None, body)
        except AlreadyExists:
            return None
        except ApiError as exc:
            if isinstance(exc, Forbidden) and not readable:
                return None  # may write into the namespace without reading or creating it: let the writes say
            self.breaker.record(exc)
            return exc
        except CategorisedError as exc:
            return exc
        return None

    def keep_namespace_metadata(self) -> None:
        """Bring an existing destination namespace's copied labels and annotations in step (a run that
        writes no namespaced object); an absent namespace is left to the run that has objects for it."""
        try:
            existing = self.client.get(NAMESPACES, None, self.namespace)
        except Forbidden:
            return  # may not read Namespaces: their metadata is left alone
        except ApiError as exc:
            self.breaker.record(exc)
            self.namespace_warnings.append(f"Namespace {self.namespace}: {exc.message}")
            return
        if existing is not None and not (existing.get("metadata") or {}).get("deletionTimestamp"):
            self._patch_metadata(existing)

    def _patch_metadata(self, existing: Obj) -> None:
        """Merge-patch the copied labels and annotations of the destination namespace when they
        differ (namespace_metadata.patch_for); a failure is a warning, the objects are still copied."""
        if self.namespace_metadata is None:
            return
        body = patch_for(existing, self.namespace_metadata)
        if body is None:
            return
        try:
            self.client.patch(NAMESPACES, None, self.namespace, body)
        except ApiError as exc:
            if not isinstance(exc, Forbidden):
                self.breaker.record(exc)
            self.namespace_warnings.append(
                f"Namespace {self.namespace}: its labels and annotations were not brought in step "
                f"with the source's: {exc.message}"
            )

    # -- ServiceAccounts of token Secrets -----------------------------------------------------------

    def missing_accounts(self, names: list[str]) -> set[str]:
        """Which of the ServiceAccounts `names` are not in the destination namespace, polling (with a
        doubling pause) up to `Limits.service_account_timeout_s` for them to appear. A read that
        fails counts as present: the write that follows reports the destination's trouble."""
        deadline = time.monotonic() + self.limits.service_account_timeout_s
        missing = set(names)
        delay = 0.05
        while True:
            for name in sorted(missing):
                try:
                    found = (
                        self.client.get(self.client.resolve("serviceaccounts"), self.namespace, name)
                        is not None
                    )
                except (ApiError, CategorisedError):
                    found = True
                if found:
                    missing.discard(name)
            if not missing or time.monotonic() >= deadline:
                return missing
            time.sleep(delay)  # polling the API server for the account, bounded by the deadline
            delay = min(delay * 2, 1.0)

    # -- CRDs -------------------------------------------------------------------------------------

    def wait_established(self, names: list[str]) -> list[str]:
        """Wait for the CRDs `names` to be served (`crd_wait.wait_established`); returns warnings."""
        try:
            return wait_established(self.client, names, self.limits.crd_established_timeout_s)
        finally:
            self.forget_refs()  # the new custom resource types must be looked up afresh

    # -- carrying out actions ---------------------------------------------------------------------

    def _carry(
        self, planned: Action, ref: ResourceRef, action: Action, first: Attempt | None = None
    ) -> _Done:
        """Carry out `action`, decided for `planned`'s object by the planner or by `decide` again after
        a re-read (`first`: see `_run`)."""
        if action.op == Op.SKIP:
            return _Done(Outcome.SKIPPED, warning=_planned_note(action), skip=action.skip_record())
        if action.op == Op.UNCHANGED:
            return _Done(Outcome.UNCHANGED)
        if action.op == Op.CREATE:
            return self._create(planned, ref, first)
        if _loops(action):
            return self._update(planned, ref, action)
        return self._immutable(planned, ref, action)

    def _decide_again(self, planned: Action, fresh: Obj) -> Action:
        """What the plan would say about the object as read now (never CREATE: it exists)."""
        return decide(
            wanted_again(planned),
            fresh,
            self.rules,
            source_namespace=self.source_namespace,
            server_version=self.version,
        )

    def _create(self, planned: Action, ref: ResourceRef, first: Attempt | None = None) -> _Done:
        key = planned.key
        assert planned.desired is not None
        try:
            # copies' writes ask for their answer as metadata: only its resourceVersion is read (the
            # write journal), and a body parsed for nothing costs about what a source body does
            self.client.create(ref, key.namespace or None, planned.desired, metadata_only=True, after=first)
            return _Done(Outcome.CREATED)
        except AlreadyExists:
            pass
        # created meanwhile (by a duplicate task, a create whose answer was lost, anyone): decide again
        fresh = self.client.get(ref, key.namespace or None, key.name)
        if fresh is None:
            self.client.create(ref, key.namespace or None, planned.desired, metadata_only=True)
            return _Done(Outcome.CREATED)
        return self._carry(planned, ref, self._decide_again(planned, fresh))

    def _update(self, planned: Action, ref: ResourceRef, action: Action) -> _Done:
        """The write loop of an update, whole or partial (immutable handling PartialUpdate): PUT the
        body; on 409 read the object again, decide again, and PUT the body rebuilt from the fresh
        read while the decision stays such an update (`retry_on_conflict`, the client's policy)."""
        key = planned.key
        namespace = key.namespace or None
        assert planned.desired is not None
        desired = planned.desired
        current: list[Action | None] = [action]  # None: the last PUT conflicted, read again first

        def read_modify_write() -> _Done:
            try:
                return attempt()
            except (Conflict, AlreadyExists):
                current[0] = None  # whatever conflicted, the next round starts from a fresh read
                raise

        def attempt() -> _Done:
            decided = current[0]
            if decided is None:
                fresh = self.client.get(ref, namespace, key.name)
                if fresh is None:
                    self.client.create(ref, namespace, desired, metadata_only=True)
                    return _Done(Outcome.UPDATED)
                decided = self._decide_again(planned, fresh)
                if not _loops(decided):
                    return self._carry(planned, ref, decided)
                current[0] = decided
            partial = decided.immutable is not None
            body = decided.partial_body if partial else decided.body
            assert body is not None
            try:
                self.client.replace(ref, namespace, body, metadata_only=True)
            except ApiError as exc:
                if not partial and refused_fields(exc) is not None:
                    return self._unforeseen_immutable(planned, ref, exc)
                if partial and _refuses_body(exc):
                    assert decided.immutable is not None
                    return _partial_refused(
                        planned, decided.immutable.fields, decided.immutable.describe(), exc
                    )
                raise
            if decided.immutable is not None:
                return _Done(
                    Outcome.UPDATED,
                    warning=f"{key}: {decided.immutable.describe()}; the other fields were updated",
                )
            return _Done(Outcome.UPDATED)

        try:
            return retry_on_conflict(read_modify_write, self.client.retry, sleep=self.client.sleep)
        except (Conflict, AlreadyExists):
            raise CategorisedError(
                Category.RETRYABLE,
                f"{key} kept changing while being updated (409 Conflict "
                f"{self.client.retry.conflict_attempts} times); the next sync retries",
            ) from None

    def _immutable(self, planned: Action, ref: ResourceRef, action: Action) -> _Done:
        """An update with an immutable change handled NoChange (held back) or by recreating."""
        assert action.immutable is not None
        key, describe = planned.key, action.immutable.describe()
        if action.immutable.handling == ImmutableHandling.NO_CHANGE:
            return _Done(
                Outcome.SKIPPED, warning=f"{key}: {describe}; not written", skip=action.skip_record()
            )
        self._recreate(planned, ref, action.immutable.handling, action.destination_uid, describe)
        return _Done(Outcome.UPDATED, warning=f"{key}: {describe}; recreated")

    def _unforeseen_immutable(self, planned: Action, ref: ResourceRef, exc: ApiError) -> _Done:
        """The API refused an update for a field the planner did not know to be unchangeable (a newer
        server, a rule not in the table): handled like a planned immutable change, never retried as
        a failure on every run."""
        assert planned.desired is not None
        key = planned.key
        handling, decided_by, _ = resolve_handling(planned.desired, self.rules)
        fields = refused_fields(exc) or ()
        if fields:
            named = f" of field(s) {', '.join(fields)}"
        else:  # an admission plugin's refusal names no field: name what the update changes
            current = self.client.get(ref, key.namespace or None, key.name)
            changed = changed_fields(update_body(planned.desired, current), current) if current else ()
            named = f" (it changes {', '.join(changed)})" if changed else ""
        describe = (
            f"the API server refused the update{named}: {exc.api_message}; "
            f"{described_handling(handling, decided_by)}"
        )
        if handling == ImmutableHandling.NO_CHANGE:
            return _Done(
                Outcome.SKIPPED,
                warning=f"{key}: {describe}; not written",
                skip=_skip(planned, f"held back: {describe}", fields),
            )
        fresh = self.client.get(ref, key.namespace or None, key.name)
        if fresh is None:
            self.client.create(ref, key.namespace or None, planned.desired, metadata_only=True)
            return _Done(Outcome.UPDATED, warning=f"{key}: {describe}; created again")
        decided = self._decide_again(planned, fresh)
        if decided.op != Op.UPDATE:
            return self._carry(planned, ref, decided)
        if handling == ImmutableHandling.PARTIAL_UPDATE:
            if not fields:
                raise CategorisedError(
                    Category.NON_RETRYABLE, f"{describe}; PartialUpdate impossible: the server named no field"
                )
            partial = partial_body(update_body(planned.desired, fresh), fresh, fields)
            try:
                self.client.replace(ref, key.namespace or None, partial, metadata_only=True)
            except ApiError as again:
                if _refuses_body(again):
                    return _partial_refused(planned, fields, describe, again)
                raise
            return _Done(Outcome.UPDATED, warning=f"{key}: {describe}; the other fields were updated")
        self._recreate(planned, ref, handling, decided.destination_uid, describe, fresh)
        return _Done(Outcome.UPDATED, warning=f"{key}: {describe}; recreated")

    def _check_creatable(self, action: Action, ref: ResourceRef, describe: str, existing: Obj | None) -> None:
        """Before deleting a copy to recreate it: would the destination create the new object? A
        dry-run create (`dryRun=All`) of the same name answers 409 AlreadyExists only after the object
        passed validation and admission, so a 422 or 403 here means the destination refuses the
        object itself, and deleting would lose the copy. The addresses and node ports the copy holds
        are left out of the dry run (`merge.dry_run_replacement`): its delete frees them. Any other
        failure of the dry run fails the object too, before anything is deleted."""
        assert action.desired is not None
        body = dry_run_replacement(action.desired, existing)
        try:
            self.client.create(ref, action.key.namespace or None, body, dry_run=True, metadata_only=True)
        except AlreadyExists:
            return
        except (Invalid, Forbidden) as exc:
            raise CategorisedError(
                Category.NON_RETRYABLE,
                (
                    f"{describe}; not recreated: the destination would not create it either "
                    f"({exc.api_message})"
                ),
            ) from None

    def _recreate(
        self,
        action: Action,
        ref: ResourceRef,
        handling: ImmutableHandling,
        uid: str,
        describe: str,
        existing: Obj | None = None,
    ) -> None:
        """Replace the copy with `uid` by a new object: the one path that deletes a copy to write it
        again. The destination is first asked whether it would create the new object
        (`_check_creatable`); when it would not, nothing is drained or deleted. `existing`: the copy
        as last read (read here when not given)."""
        key = action.key
        namespace = key.namespace or None
        assert action.desired is not None
        if existing is None:
            existing = self.client.get(ref, namespace, key.name)
        refused_before = annotations_of(existing or {}).get(keys.ANNOTATION_RECREATE_REFUSED)
        if refused_before and refused_before == annotations_of(action.desired).get(
            keys.ANNOTATION_SOURCE_HASH
        ):
            raise CategorisedError(
                Category.NON_RETRYABLE,
                f"{describe}; not recreated: the destination refused this object after its copy was "
                "deleted on an earlier run, and the copy was put back; it is kept until the source "
                f"object changes (remove annotation {keys.ANNOTATION_RECREATE_REFUSED} from the copy "
                "to try again)",
            )
        self._check_creatable(action, ref, describe, existing)
        if handling == ImmutableHandling.RECREATE_WITH_POD_DRAIN:
            drain(self.client, key, ref)
        # ForceUpdate: the dependents go first and the delete completes only when they are gone
        force = handling == ImmutableHandling.FORCE_UPDATE
        if not delete_copy(
            self.client,
            ref,
            namespace,
            key.name,
            uid=uid,
            propagation="Foreground" if force else "Background",
        ):
            raise CategorisedError(
                Category.RETRYABLE, "not recreated: replaced since it was read; the next sync retries"
            )
        wait_gone(self.client, ref, namespace, key.name, uid, self.limits.deletion_timeout_s)
        try:
            self.client.create(ref, namespace, action.desired, metadata_only=True)
        except ApiError as exc:
            # a refusal of the object itself; not an error that may have let the create through (a
            # timeout), nor a cluster gone away: the next sync creates whatever is missing then
            if exc.category is not Category.NON_RETRYABLE or existing is None:
                raise
            raise self._put_back(action, ref, existing, describe, exc) from None

    def _put_back(
        self, action: Action, ref: ResourceRef, previous: Obj, describe: str, refused: ApiError
    ) -> CategorisedError:
        """The new object's create was refused after its copy was deleted: a refusal the dry run
        could not foresee, such as etcd's request size limit (1.5 MiB by default; a dry run is never
        stored) or an admission webhook or policy that judges only real writes. Create the copy
        again as it was, marked (`ANNOTATION_RECREATE_REFUSED`) so that later runs keep it until the
        source object changes; returns the error to report, naming what happened to the copy."""
        assert action.desired is not None
        why = (
            f"{describe}; not recreated: the destination refused the new object after the copy was "
            f"deleted ({refused.api_message})"
        )
        not_put_back = PUT_BACK_REFUSED.get((ref.group, ref.kind))
        if not_put_back is not None:
            return CategorisedError(refused.category, f"{why}; the copy was not put back: {not_put_back}")
        source_hash = annotations_of(action.desired).get(keys.ANNOTATION_SOURCE_HASH) or ""
        body = created_again(previous, {keys.ANNOTATION_RECREATE_REFUSED: source_hash})
        try:
            self.client.create(ref, action.key.namespace or None, body, metadata_only=True)
        except ApiError as again:
            return CategorisedError(
                refused.category,
                f"{why}, and creating the copy again as it was failed too ({again.api_message}); "
                "the destination has no copy of it",
            )
        return CategorisedError(
            refused.category,
            f"{why}; the copy was put back as it was and is kept until the source object changes",
        )

    def _prune(self, action: Action) -> _Done:
        ref, key = self.ref(action), action.key
        if not delete_copy(self.client, ref, key.namespace or None, key.name, uid=action.destination_uid):
            # the uid precondition failed: the object was replaced after planning, not ours to delete
            why = "not pruned, replaced since it was read"
            return _Done(Outcome.SKIPPED, warning=f"{key}: {why}", skip=_skip(action, why))
        return _Done(Outcome.PRUNED)


# the pool starts threads only while none is idle: as many as the stages under way at once take
# (`concurrency` each); beyond this cap a stage's actions wait for threads other stages give back
_WRITE_THREADS_MAX = 256


def start_write_threads(count: int, wait_s: float) -> int:
    """Start `count` of the process's write threads ahead of its first sync
    (drsyncer.sync.threads.start_threads); returns how many started."""
    return start_threads("sync-write", _WRITE_THREADS_MAX, count, wait_s)


def _loops(action: Action) -> bool:
    """An update the write loop carries out: whole, or partial (immutable handling PartialUpdate)."""
    return action.op == Op.UPDATE and (
        action.immutable is None or action.immutable.handling == ImmutableHandling.PARTIAL_UPDATE
    )


# how authorization words a denial (`User "x" cannot update resource "y" ...`): not a refusal of the change
_RBAC_DENIAL = re.compile(r'User ".*" cannot ')
# how kube-apiserver's validation words a refusal to change a field in place (1.34: apimachinery
# ValidateImmutableField "field is immutable", Services "may not change once set", RBAC "cannot
# change roleRef", Indexed Jobs "can only be modified in tandem with", Forbidden field errors such
# as "updates to statefulset spec for fields other than ... are forbidden")
_IN_PLACE_REFUSAL = re.compile(
    r"immutable|may not (?:be )?change|cannot (?:be )?change|can only be modified|forbidden", re.IGNORECASE
)


def _refuses_change(cause: Mapping[str, Any], message: str) -> bool:
    return str(cause.get("reason", "")) == "FieldValueForbidden" or bool(
        _IN_PLACE_REFUSAL.search(str(cause.get("message") or message))
    )


def refused_fields(exc: ApiError) -> tuple[str, ...] | None:
    """The fields an update was refused for, when `exc` is such a refusal: a 422 Invalid worded as a
    refusal to change a field in place ("field is immutable", "cannot change roleRef", "updates to
    statefulset spec ... are forbidden"; `_IN_PLACE_REFUSAL`), or a 403 whose Status causes are
    field errors (`FieldValueForbidden`). None for anything else: a 422 for a value the destination
    will not take whatever the copy held before ("provided port is already allocated"), which fails
    the object with the server's message; a 403 of authorization, a namespace being terminated, a
    conflict."""
    causes = [c for c in exc.details.get("causes") or () if isinstance(c, Mapping)]
    if isinstance(exc, Invalid):
        refusals = [c for c in causes if _refuses_change(c, exc.api_message)]
        if not refusals and not (not causes and _IN_PLACE_REFUSAL.search(exc.api_message)):
            return None
        return tuple(dict.fromkeys(str(c["field"]) for c in refusals if c.get("field")))
    if not isinstance(exc, Forbidden):
        return None
    if causes and all(str(c.get("reason", "")).startswith("FieldValue") for c in causes):
        return tuple(dict.fromkeys(str(c["field"]) for c in causes if c.get("field")))
    if not causes and not _RBAC_DENIAL.search(exc.api_message):
        # an admission plugin's refusal of this change (PersistentVolumeClaimResize: "only dynamically
        # provisioned pvc can be resized and the storageclass that provisions the pvc must support
        # resize"); it names no field
        return ()
    return None


def _refuses_body(exc: ApiError) -> bool:
    """Whether the API server refused a body as such (422 Invalid, or a 403 naming fields), not the
    request: what a partial update's body meets when the fields it keeps do not fit the rest."""
    return isinstance(exc, Invalid) or refused_fields(exc) is not None


def _partial_refused(action: Action, kept: tuple[str, ...], describe: str, exc: ApiError) -> _Done:
    """A partial update (PartialUpdate) the API server refused: the fields kept as the destination
    has them do not fit the changed rest (a Deployment's old `spec.selector` and new template labels,
    a Secret's old `type` and new keys). Nothing can be applied in part, so the copy is held back, as
    NoChange would, with the server's reason, rather than failed with the same 422 on every run."""
    why = (
        f"{describe}; PartialUpdate impossible: with {', '.join(kept)} kept as the destination has "
        f"them, the API server refuses the rest ({exc.api_message}); handling Recreate applies the "
        "change whole"
    )
    return _Done(
        Outcome.SKIPPED,
        warning=f"{action.key}: {why}; not written",
        skip=_skip(action, f"held back: {why}", kept),
    )


def _skip(action: Action, reason: str, fields: tuple[str, ...] = ()) -> Skip:
    key = action.key
    return Skip(action.count_key, key.namespace, key.name, reason, reason.startswith("held back"), fields)


__all__ = ["CRD_GROUP", "Limits", "execute", "not_written_log", "refused_fields", "start_write_threads"]

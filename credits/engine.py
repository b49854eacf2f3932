"""The credit engine: one day's managed credit, sold credit, points and tiers (SPEC §3).

Computing day D:
1. Refresh `CountedDay`, the per (partner, client, day) aggregate of counted qualifying
   activities, for stale days up to D, and mark the first day of each relationship.
2. Claim D: a `RecomputeRun`; at most one is live per day (a partial unique constraint).
3. Chunks: for each range of client accounts, insert the run's credit lines — relationships
   open on D, the MRR in force split in cents, points. Chunks may run on several workers.
4. Finish: standings per partner from the run's credit lines, deals and activity counts; then
   publish the run for D and drop the day's older rows, in one transaction.

All arithmetic is on integer hundredths in SQL, so it is exact on PostgreSQL and SQLite.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from accounts.models import ClientAccount
from credits import partitions, tiers
from credits.models import (
    CountedDay,
    CreditLine,
    DayResult,
    Deal,
    EngineState,
    PointsRate,
    ProgramSettings,
    RecomputeChunk,
    RecomputeRun,
    Standing,
)
from credits.models.results import warning_text
from credits.sql import add_days, days_between, execute, points_sql
from credits.staleness import data_version
from credits.standings import DayStandings, standings_compute
from partnercredit import days
from partnercredit.days import day_end
from partnercredit.fields import to_hundredths

log = logging.getLogger(__name__)

Status = RecomputeRun.Status


class RecomputeBusy(Exception):
    """Another run for the same day is queued or running."""


class DayNotEnded(ValueError):
    """The day has not ended in the program time zone: it cannot be a final result."""


def require_ended(day: date) -> None:
    """Refuse a day that has not ended in the program time zone (SPEC §3.11)."""
    today = days.today()
    if day >= today:
        raise DayNotEnded(
            f"{day} has not ended in the program time zone ({settings.TIME_ZONE}; today is "
            f"{today}): only days that have ended can be computed."
        )


# --- 1. Refresh the counted qualifying activities ------------------------------------------

_COUNTED_ACTIVITIES = """
    SELECT a.partner_id, a.client_id, a.day, a.at, a.employee_id,
           ROW_NUMBER() OVER (
               PARTITION BY a.partner_id, a.client_id, a.day ORDER BY a.at DESC, a.id DESC
           ) AS latest
    FROM credits_activity a
    JOIN credits_qualifyingaction q  -- the catalogue is lower-case; tools compare case-insensitively
      ON q.tool = LOWER(a.tool) AND q.action = LOWER(a.action)
    WHERE a.day BETWEEN %(lo)s AND %(hi)s
      AND EXISTS (SELECT 1 FROM accounts_employeespell s
                  WHERE s.employee_id = a.employee_id
                    AND s.start <= a.at AND (s."end" IS NULL OR s."end" > a.at))
      AND EXISTS (SELECT 1 FROM accounts_assignment x
                  WHERE x.employee_id = a.employee_id AND x.client_id = a.client_id
                    AND x.start <= a.at AND (x."end" IS NULL OR x."end" > a.at))
      AND EXISTS (SELECT 1 FROM accounts_seat x
                  WHERE x.employee_id = a.employee_id AND x.client_id = a.client_id
                    AND x.start <= a.at AND (x."end" IS NULL OR x."end" > a.at))
"""

_INSERT_COUNTED_DAYS = f"""
    INSERT INTO credits_countedday
        (partner_id, client_id, day, activities, first_at, last_at, last_employee_id, starts_run)
    SELECT partner_id, client_id, day, COUNT(*), MIN(at), MAX(at),
           MAX(CASE WHEN latest = 1 THEN employee_id END), FALSE
    FROM ({_COUNTED_ACTIVITIES}) counted
    GROUP BY partner_id, client_id, day
"""


_PAIR_HISTORY_BY_WINDOW = """
    SELECT id, partner_id, client_id, day, last_at,
           LAG(day) OVER (PARTITION BY partner_id, client_id ORDER BY day) AS prev_day,
           LAG(last_at) OVER (PARTITION BY partner_id, client_id ORDER BY day) AS prev_last_at
    FROM credits_countedday WHERE day BETWEEN %(window_lo)s AND %(hi)s
"""

# The same rows for the refreshed days only, each looking up its previous counted day in the
# (partner, client, day) index: for a few days this reads ~1/60 of what the window reads.
_PAIR_HISTORY_BY_LOOKUP = """
    SELECT c.id, c.partner_id, c.client_id, c.day, c.last_at,
           (SELECT MAX(q.day) FROM credits_countedday q
            WHERE q.partner_id = c.partner_id AND q.client_id = c.client_id
              AND q.day < c.day AND q.day >= %(window_lo)s) AS prev_day,
           (SELECT q.last_at FROM credits_countedday q
            WHERE q.partner_id = c.partner_id AND q.client_id = c.client_id
              AND q.day < c.day AND q.day >= %(window_lo)s
            ORDER BY q.day DESC LIMIT 1) AS prev_last_at
    FROM credits_countedday c
    WHERE c.day BETWEEN %(lo)s AND %(hi)s
"""

# Up to this many refreshed days, look the previous counted day up; beyond, one window pass.
LOOKUP_MAX_DAYS = 7


def _mark_run_starts_sql(*, days: int) -> str:
    """A counted day starts a relationship when the previous counted day of the pair is more
    than the grace period before it, or an immediate end happened since its last activity.

    The immediate ends are a join from the (few) end rows rather than a correlated EXISTS per
    counted day: at scale that subplan ran once for each of millions of rows.
    """
    gap = days_between("w.day", "w.prev_day")
    history = _PAIR_HISTORY_BY_LOOKUP if days <= LOOKUP_MAX_DAYS else _PAIR_HISTORY_BY_WINDOW
    return f"""
    UPDATE credits_countedday SET starts_run = TRUE WHERE id IN (
        WITH w AS ({history})
        SELECT w.id FROM w
        WHERE w.day >= %(lo)s AND (w.prev_day IS NULL OR {gap} > %(grace)s)
        UNION
        SELECT w.id FROM w
        JOIN accounts_relationshipend e
          ON e.partner_id = w.partner_id
         AND (e.client_id = w.client_id OR e.client_id IS NULL)
         AND e.at >= w.prev_last_at AND e.at < w.last_at
        WHERE w.day >= %(lo)s
    )
    """


def _roomy_sorts() -> None:
    """Let this transaction's sorts and hashes stay in memory on PostgreSQL (default 4 MB
    spills the refresh's millions of rows to disk). Bounded: a few such nodes per query."""
    if connection.vendor == "postgresql":
        execute("SET LOCAL work_mem = '256MB'", {})


def counted_days_refresh(*, through: date) -> int:
    """Re-aggregate every stale day up to `through`; return how many days were refreshed."""
    grace = ProgramSettings.load().grace_days
    with transaction.atomic():
        EngineState.objects.get_or_create(pk=1)
        state = EngineState.objects.select_for_update().get(pk=1)
        if state.dirty_from is None or state.dirty_from > through:
            return 0
        lo = state.dirty_from
        _roomy_sorts()
        params = {"lo": lo, "hi": through, "window_lo": lo - timedelta(days=grace + 1)}
        execute("DELETE FROM credits_countedday WHERE day BETWEEN %(lo)s AND %(hi)s", params)
        execute(_INSERT_COUNTED_DAYS, params)
        days = (through - lo).days + 1
        execute(_mark_run_starts_sql(days=days), {**params, "grace": grace})
        EngineState.objects.filter(pk=1).update(dirty_from=through + timedelta(days=1))
        if days > LOOKUP_MAX_DAYS:
            _statistics_refresh("credits_countedday")
    return days


def _statistics_refresh(table: str) -> None:
    """After rewriting many days of a table, let PostgreSQL's planner know its new shape (a
    bulk write leaves the statistics of the table it had before: plans of the next queries
    then loop over what they think is a handful of rows)."""
    if connection.vendor == "postgresql":
        execute(f"ANALYZE {table}", {})


# --- 2. Claim a day --------------------------------------------------------------------------


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.RECOMPUTE_STALE_SECONDS)


def run_claim(*, day: date, status: str, requested_by: User | None = None) -> RecomputeRun:
    """Create the day's live run; raise RecomputeBusy if one exists."""
    require_ended(day)
    runs_abandoned_fail(day=day)  # a dead run of the day must not block it
    try:
        with transaction.atomic():
            return RecomputeRun.objects.create(
                day=day, status=status, requested_by=requested_by, heartbeat_at=timezone.now()
            )
    except IntegrityError as exc:
        raise RecomputeBusy(f"A recompute of {day} is already queued or running.") from exc


def run_prepare(*, run: RecomputeRun, chunks: int | None = None) -> list[RecomputeChunk]:
    """Note the data version, refresh the aggregates and split the clients into chunks."""
    version = data_version()  # before reading anything: later changes make the day stale
    RecomputeRun.objects.filter(pk=run.pk).update(data_version=version)
    run.data_version = version
    counted_days_refresh(through=run.day)
    return _chunks_create(run=run, chunks=chunks)


def _chunks_create(*, run: RecomputeRun, chunks: int | None = None) -> list[RecomputeChunk]:
    partitions.months_ensure(run.day)
    bounds = ClientAccount.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    count = max(1, chunks or settings.RECOMPUTE_CHUNKS)
    lo, hi = bounds["lo"] or 0, bounds["hi"] or 0
    step = max(1, (hi - lo + count) // count)
    rows = [
        RecomputeChunk(run=run, index=i, client_lo=lo + i * step, client_hi=lo + (i + 1) * step - 1)
        for i in range(count)
        if lo + i * step <= hi or i == 0
    ]
    with transaction.atomic():
        RecomputeChunk.objects.bulk_create(rows)
        if run.status != Status.TIERS:
            RecomputeRun.objects.filter(pk=run.pk).update(
                status=Status.RUNNING,
                started_at=timezone.now(),
                heartbeat_at=timezone.now(),
                chunks_total=len(rows),
            )
    return list(RecomputeChunk.objects.filter(run=run).order_by("index"))


# --- 3. Credit lines of a chunk ---------------------------------------------------------------


def _credit_lines_sql() -> str:
    credit_until = add_days("p.last_day", "%(grace)s")
    points = points_sql(
        amount="p.share",
        per_unit="%(ppu)s",
        multiplier="COALESCE(g.multiplier, 100)",
        unit="u.amount",
    )
    return f"""
    INSERT INTO credits_creditline
        (run_id, day, partner_id, client_id, currency, mrr, partners_sharing, share, points,
         relationship_started, last_qualifying_activity, last_employee_id, credit_until)
    WITH latest AS (
        SELECT partner_id, client_id, MAX(day) AS last_day
        FROM credits_countedday
        WHERE day BETWEEN %(grace_lo)s AND %(day)s AND client_id BETWEEN %(c_lo)s AND %(c_hi)s
        GROUP BY partner_id, client_id
    ),
    open_pairs AS (
        SELECT l.partner_id, l.client_id, l.last_day, c.last_employee_id,
               (SELECT MAX(r.day) FROM credits_countedday r
                WHERE r.partner_id = l.partner_id AND r.client_id = l.client_id
                  AND r.starts_run AND r.day <= l.last_day) AS started
        FROM latest l
        JOIN credits_countedday c
          ON c.partner_id = l.partner_id AND c.client_id = l.client_id AND c.day = l.last_day
        WHERE NOT EXISTS (
            SELECT 1 FROM accounts_relationshipend e
            WHERE e.partner_id = l.partner_id
              AND (e.client_id = l.client_id OR e.client_id IS NULL)
              AND e.at >= c.last_at AND e.at < %(day_end)s)
    ),
    mrr AS (
        SELECT client_id, amount, currency FROM (
            SELECT m.client_id, m.amount, m.currency,
                   ROW_NUMBER() OVER (PARTITION BY m.client_id
                                      ORDER BY m.effective_at DESC, m.id DESC) AS latest
            FROM accounts_clientmrr m
            WHERE m.effective_at < %(day_end)s AND m.client_id BETWEEN %(c_lo)s AND %(c_hi)s
        ) ranked WHERE latest = 1
    ),
    units AS (
        SELECT u.currency, u.amount FROM credits_currencyunit u
        WHERE u.valid_from = (SELECT MAX(u2.valid_from) FROM credits_currencyunit u2
                              WHERE u2.currency = u.currency AND u2.valid_from <= %(day)s)
    ),
    split AS (
        SELECT p.partner_id, p.client_id, p.last_day, p.last_employee_id, p.started,
               m.amount AS mrr, m.currency, k.country,
               COUNT(*) OVER (PARTITION BY p.client_id) AS sharing,
               ROW_NUMBER() OVER (PARTITION BY p.client_id
                                  ORDER BY p.started, LENGTH(pt.key), pt.key) AS place
        FROM open_pairs p
        JOIN mrr m ON m.client_id = p.client_id
        JOIN accounts_partner pt ON pt.id = p.partner_id
        JOIN accounts_clientaccount k ON k.id = p.client_id
    ),
    shares AS (
        SELECT s.*, s.mrr / s.sharing
                    + CASE WHEN s.place <= s.mrr %% s.sharing THEN 1 ELSE 0 END AS share
        FROM split s
    )
    SELECT %(run)s, %(day)s, p.partner_id, p.client_id, p.currency, p.mrr, p.sharing, p.share,
           CASE WHEN u.amount IS NULL THEN NULL ELSE
               {points}
           END,
           p.started, p.last_day, p.last_employee_id, {credit_until}
    FROM shares p
    LEFT JOIN units u ON u.currency = p.currency
    LEFT JOIN credits_growthmarket g ON g.country = p.country
    """


def _rate_in_force(kind: str, day: date) -> int | None:
    """Points per unit of `kind` on `day`, in hundredths."""
    rate = PointsRate.objects.filter(kind=kind, valid_from__lte=day).order_by("-valid_from").first()
    return None if rate is None else to_hundredths(rate.points_per_unit)


def chunk_compute(*, chunk: RecomputeChunk) -> bool:
    """Insert the credit lines of one chunk, once. Return True when this call did the work."""
    run = chunk.run
    grace = ProgramSettings.load().grace_days
    params = {
        "run": run.pk,
        "day": run.day,
        "day_end": day_end(run.day),
        "grace": grace,
        "grace_lo": run.day - timedelta(days=grace),
        "c_lo": chunk.client_lo,
        "c_hi": chunk.client_hi,
        "ppu": _rate_in_force(PointsRate.Kind.MANAGED, run.day) or 0,
    }
    with transaction.atomic():
        claimed = RecomputeChunk.objects.filter(pk=chunk.pk, done_at__isnull=True).update(
            done_at=timezone.now()
        )
        if not claimed:
            return False
        _roomy_sorts()
        CreditLine.objects.filter(
            day=run.day, run=run, client_id__gte=chunk.client_lo, client_id__lte=chunk.client_hi
        ).delete()
        execute(_credit_lines_sql(), params)
        # Last, and only while the run is live: a chunk delivered again after its run was
        # failed (a killed worker's message) rolls back instead of leaving orphan lines.
        live = Status.TIERS if run.status == Status.TIERS else Status.RUNNING
        if not RecomputeRun.objects.filter(pk=run.pk, status=live).update(
            chunks_done=F("chunks_done") + 1, heartbeat_at=timezone.now()
        ):
            raise RecomputeBusy(
                f"Run {run.pk} is not running any more; chunk {chunk.index} dropped."
            )
    return True


# --- 4. Publishing ------------------------------------------------------------------------


def run_finish(*, run: RecomputeRun) -> RecomputeRun:
    """Compute standings and credited tiers for the run's day and publish it (replacing the
    day's results). The credited tier needs every earlier day's tiers: the days not derived
    yet (or derived before a change) are derived first, in order."""
    day = run.day
    computed = standings_compute(run=run)
    with _tiers_lock():
        tiers_history(through=day - timedelta(days=1), version=run.data_version, run=run)
        with transaction.atomic():
            claimed = RecomputeRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
                status=Status.PUBLISHING, heartbeat_at=timezone.now()
            )
            if not claimed:
                raise RecomputeBusy(f"Run {run.pk} is not running; not publishing it.")
            _publish(run=run, computed=computed)
    for warning in computed.warnings:
        log.warning("recompute %s: %s", day, warning_text(warning))
    run.refresh_from_db()
    return run


def _publish(*, run: RecomputeRun, computed: DayStandings) -> None:
    day, standings = run.day, computed.standings
    credited = tiers.tiers_derive(
        day=day,
        performance={s.partner_id: s.tier for s in standings},
        met=computed.met,
        version=run.data_version,
        ranks=tiers.tier_ranks(computed.tiers),
    )
    for standing in standings:
        standing.credited_tier = credited.get(standing.partner_id, "")
    Standing.objects.filter(run=run).delete()
    Standing.objects.bulk_create(standings, batch_size=2000)
    now = timezone.now()
    DayResult.objects.update_or_create(
        day=day, defaults={"run": run, "computed_at": now, "data_version": run.data_version}
    )
    # The day's other runs' rows, found by run (an index) in the day's partition.
    superseded = RecomputeRun.objects.filter(day=day).exclude(pk=run.pk).values("pk")
    CreditLine.objects.filter(day=day, run__in=superseded).delete()
    Standing.objects.filter(day=day, run__in=superseded).delete()
    RecomputeRun.objects.filter(pk=run.pk).update(
        status=Status.SUCCEEDED,
        finished_at=now,
        heartbeat_at=now,
        credit_lines=CreditLine.objects.filter(run=run).count(),
        partners=len(standings),
        warnings=computed.warnings,
    )


# --- 5. The tier history behind the credited tier --------------------------------------------

_TIERS_LOCK = 7_304_212


@contextmanager
def _tiers_lock() -> Iterator[None]:
    """One deriver of the tier history at a time (PostgreSQL: a session lock, released if the
    process dies; SQLite has one writer anyway)."""
    if connection.vendor != "postgresql":
        yield
        return
    execute("SELECT pg_advisory_lock(%(k)s)", {"k": _TIERS_LOCK})
    try:
        yield
    finally:
        execute("SELECT pg_advisory_unlock(%(k)s)", {"k": _TIERS_LOCK})


def history_start() -> date | None:
    """The first day any partner could have points or counted activities."""
    first_counted = CountedDay.objects.aggregate(d=Min("day"))["d"]
    first_deal = Deal.objects.aggregate(d=Min("closed_on"))["d"]
    return min((d for d in (first_counted, first_deal) if d is not None), default=None)


def tiers_history(*, through: date, version: int, run: RecomputeRun | None = None) -> int:
    """Derive the tier rows of every day up to `through` that lacks current ones, oldest
    first (each day computed like a recompute, not published). Return how many days."""
    start = history_start()
    first = start and tiers.first_underived_day(first=start, last=through)
    if first is None:
        return 0
    days = (through - first).days + 1
    for offset in range(days):
        _tier_day_derive(day=first + timedelta(days=offset), version=version)
        if run is not None:
            RecomputeRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    return days


def _tier_day_derive(*, day: date, version: int) -> None:
    scratch = RecomputeRun.objects.create(
        day=day, status=Status.TIERS, data_version=version, heartbeat_at=timezone.now()
    )
    try:
        for chunk in _chunks_create(run=scratch):
            chunk_compute(chunk=chunk)
        computed = standings_compute(run=scratch)
        with transaction.atomic():
            tiers.tiers_derive(
                day=day,
                performance={s.partner_id: s.tier for s in computed.standings},
                met=computed.met,
                version=version,
                ranks=tiers.tier_ranks(computed.tiers),
            )
    finally:
        CreditLine.objects.filter(run=scratch).delete()
        scratch.delete()


def run_fail(*, run: RecomputeRun, error: str) -> None:
    """Mark a run failed; the day's published results stay as they were."""
    RecomputeRun.objects.filter(pk=run.pk, status__in=RecomputeRun.LIVE).update(
        status=Status.FAILED, error=error[:5000], finished_at=timezone.now()
    )
    CreditLine.objects.filter(run=run).delete()


# --- In process, and the queue's side of a run -------------------------------------------------


def recompute_day(
    *, day: date, requested_by: User | None = None, chunks: int | None = None
) -> RecomputeRun:
    """Compute and publish `day` in this process."""
    run = run_claim(day=day, status=Status.RUNNING, requested_by=requested_by)
    return run_compute(run=run, chunks=chunks)


def run_compute(*, run: RecomputeRun, chunks: int | None = None) -> RecomputeRun:
    """Compute and publish the run this process has claimed."""
    try:
        for chunk in run_prepare(run=run, chunks=chunks):
            chunk_compute(chunk=chunk)
        return run_finish(run=run)
    except BaseException as exc:
        run_fail(run=run, error=repr(exc))
        raise


def run_take(*, run_id: int) -> RecomputeRun | None:
    """A worker takes a queued run; None if another delivery already did."""
    taken = RecomputeRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.RUNNING, heartbeat_at=timezone.now()
    )
    return RecomputeRun.objects.get(pk=run_id) if taken else None


def runs_abandoned_fail(*, day: date | None = None) -> list[RecomputeRun]:
    """Fail every live run without a heartbeat for RECOMPUTE_STALE_SECONDS (its worker died,
    or lost its database connection): stopped while starting, in a chunk, or while publishing.
    A queued run is left to be sent again, except when a new run of its `day` is asked for.
    Tier-history scratch runs of a dead worker are removed. Return the runs failed."""
    cutoff = timezone.now() - _stale_after()
    for scratch in RecomputeRun.objects.filter(status=Status.TIERS, heartbeat_at__lt=cutoff):
        CreditLine.objects.filter(run=scratch).delete()
        scratch.delete()
    live = RecomputeRun.objects.filter(status__in=RecomputeRun.LIVE)
    live = live.filter(day=day) if day else live.exclude(status=Status.QUEUED)
    failed = []
    for run in live:
        last_sign = run.heartbeat_at or run.created_at
        if last_sign >= cutoff:
            continue
        error = f"abandoned: no heartbeat since {last_sign:%Y-%m-%d %H:%M:%S}"
        if RecomputeRun.objects.filter(pk=run.pk, status=run.status).update(
            status=Status.FAILED, error=error, finished_at=timezone.now()
        ):
            CreditLine.objects.filter(run=run).delete()
            failed.append(run)
    return failed


def runs_queued(*, older_than: timedelta) -> list[int]:
    """Runs still queued after `older_than`: their dispatch was lost (e.g. the broker down)."""
    cutoff = timezone.now() - older_than
    queued = RecomputeRun.objects.filter(status=Status.QUEUED, created_at__lt=cutoff)
    return list(queued.values_list("pk", flat=True))

"""The credit lines of one day in one plain SQL statement, from the same tables (issue 16).

What the engine computes for day D, written as one aggregate with no pre-aggregated tables, no
chunks and no bookkeeping: the counted qualifying activities of the grace window (the three
steps at the activity's moment), the last one per (partner, client), minus the pairs an
immediate end closed since, split evenly over the client's MRR in force on D. The benchmark
compares `recompute_credits --date D` with it.
"""

from datetime import date, timedelta

from psycopg import Connection

BARE_CREDIT_LINES = """
WITH counted AS (
    SELECT a.partner_id, a.client_id, a.at
    FROM credits_activity a
    JOIN credits_qualifyingaction q ON q.tool = a.tool AND q.action = a.action
    WHERE a.day BETWEEN %(lo)s AND %(day)s
      AND EXISTS (SELECT 1 FROM accounts_employeespell s WHERE s.employee_id = a.employee_id
                  AND s.start <= a.at AND (s."end" IS NULL OR s."end" > a.at))
      AND EXISTS (SELECT 1 FROM accounts_assignment x WHERE x.employee_id = a.employee_id
                  AND x.client_id = a.client_id AND x.start <= a.at
                  AND (x."end" IS NULL OR x."end" > a.at))
      AND EXISTS (SELECT 1 FROM accounts_seat x WHERE x.employee_id = a.employee_id
                  AND x.client_id = a.client_id AND x.start <= a.at
                  AND (x."end" IS NULL OR x."end" > a.at))
),
latest AS (
    SELECT partner_id, client_id, MAX(at) AS last_at FROM counted GROUP BY partner_id, client_id
),
open_pairs AS (
    SELECT l.* FROM latest l
    WHERE NOT EXISTS (SELECT 1 FROM accounts_relationshipend e
                      WHERE e.partner_id = l.partner_id
                        AND (e.client_id = l.client_id OR e.client_id IS NULL)
                        AND e.at >= l.last_at AND e.at < %(day_end)s)
),
mrr AS (
    SELECT DISTINCT ON (client_id) client_id, amount FROM accounts_clientmrr
    WHERE effective_at < %(day_end)s ORDER BY client_id, effective_at DESC, id DESC
),
split AS (
    SELECT p.partner_id, m.amount,
           COUNT(*) OVER (PARTITION BY p.client_id) AS sharing,
           ROW_NUMBER() OVER (PARTITION BY p.client_id ORDER BY LENGTH(k.key), k.key) AS place
    FROM open_pairs p JOIN mrr m USING (client_id) JOIN accounts_partner k ON k.id = p.partner_id
)
SELECT COUNT(*), SUM(amount / sharing + CASE WHEN place <= amount %% sharing THEN 1 ELSE 0 END)
FROM split
"""


def bare_credit_lines(conn: Connection, day: date, grace_days: int = 60) -> int:
    """How many credit lines day `day` has (their shares are summed too, so all are computed)."""
    params = {
        "day": day,
        "lo": day - timedelta(days=grace_days),
        "day_end": f"{day + timedelta(days=1)} 00:00:00+00",
    }
    row = conn.execute(BARE_CREDIT_LINES, params).fetchone()
    return 0 if row is None else int(row[0])

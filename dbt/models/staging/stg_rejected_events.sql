{{ config(materialized='table') }}
{#-
  One row per distinct rejected record (record_key = sha256 of its raw bytes), however many times it
  was quarantined: re-sent copies, a replay that was rejected again (`imagify replay
  --from-quarantine`), or a record read twice after a Flink restore all count once.
  Materialization: table, rebuilt in full on every build (the quarantine is a small share of the
  traffic; a full rebuild needs no look-back and cannot miss a late copy). Unique key: record_key
  (tested). reason/detail are those of the newest quarantining (a replay after a contract change
  may reject a record for another reason); landed_at/segment are the first one's.
  Rows landed before the landing job wrote record_key get it computed from the payload text (the
  same value, except for records with invalid UTF-8, whose raw bytes the text does not keep).
-#}
with quarantined as (
    select
        *,
        coalesce(record_key, {{ sha256_hex('payload') }}) as key
    from {{ source('lake', 'quarantine') }}
),

ranked as (
    select
        *,
        row_number() over (partition by key order by landed_at, segment) as first_rank,
        row_number() over (partition by key order by landed_at desc, segment desc) as last_rank,
        count(*) over (partition by key) as copies,
        max(landed_at) over (partition by key) as last_landed
    from quarantined
),

firsts as (
    select key, payload, segment, landed_at, dt, hr, copies, last_landed from ranked where first_rank = 1
),

lasts as (
    select key, reason, detail from ranked where last_rank = 1
)

select
    f.key as record_key,
    l.reason,
    l.detail,
    f.payload,
    f.segment,
    f.landed_at,
    f.dt as landed_dt,
    f.hr as landed_hr,
    f.last_landed as last_landed_at,
    f.copies as times_quarantined
from firsts as f
inner join lasts as l on l.key = f.key

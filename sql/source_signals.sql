-- grain: one row per source record and metric (upvotes, comments, stars, scores, profile indices): latest value and change since the previous run that saw it
with snapshots as (
    select * from main.metric_snapshots
),

ranked as (
    select
        snapshots.*,
        row_number() over (
            partition by source, entity, record_id, metric order by observed_at desc, run_id desc
        ) as recency,
        cast(count(*) over (partition by source, entity, record_id, metric) as bigint) as runs_seen
    from snapshots
),

xref as (
    select distinct source, source_work_id, paper_id from main.work_xref
),

final as (
    select
        latest.source,
        latest.entity,
        latest.record_id,
        xref.paper_id,
        latest.metric,
        latest.value,
        previous.value as previous_value,
        latest.value - previous.value as change,
        latest.observed_at,
        previous.observed_at as previous_observed_at,
        latest.runs_seen
    from ranked as latest
    left join ranked as previous
        on previous.source = latest.source
        and previous.entity = latest.entity
        and previous.record_id = latest.record_id
        and previous.metric = latest.metric
        and previous.recency = 2
    left join xref
        on xref.source = latest.source
        and xref.source_work_id = latest.record_id
        -- only work records are papers (an author or award id may look like a work id)
        and latest.entity in ('papers', 'works', 'entries', 'publications')
    where latest.recency = 1
    order by latest.source, latest.entity, latest.record_id, latest.metric
)

select * from final

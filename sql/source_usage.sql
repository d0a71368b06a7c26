-- grain: one row per source, UTC day and mode: requests and cost units spent against the daily budget
with ledger as (
    select * from main.usage_ledger
),

final as (
    select
        ledger.source,
        ledger.usage_date,
        ledger.mode,
        cast(count(*) as bigint) as runs,
        cast(sum(ledger.requests) as bigint) as requests,
        sum(ledger.cost_units) as cost_units,
        max(ledger.daily_budget) as daily_budget,
        case
            when max(ledger.daily_budget) is null or ledger.mode <> 'live' then null
            else round(100.0 * sum(ledger.cost_units) / nullif(max(ledger.daily_budget), 0), 1)
        end as pct_of_budget,
        cast(count(*) filter (where ledger.stopped_reason is not null) as bigint) as stopped_runs,
        arg_max(ledger.stopped_reason, ledger.recorded_at) filter (
            where ledger.stopped_reason is not null
        ) as last_stop_reason
    from ledger
    group by ledger.source, ledger.usage_date, ledger.mode
    order by ledger.usage_date, ledger.source, ledger.mode
)

select * from final

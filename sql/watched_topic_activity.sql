-- grain: one row per watchlist topic, period kind (month, year) and period, from its first work to the current period (empty periods are zero rows): works published, their citations (best), and growth vs the previous period
with links as (
    select distinct topic_id, topic_name, paper_id from main.paper_topics where topic_kind = 'watchlist'
),

works as (
    select
        links.topic_id, links.topic_name, links.paper_id, best.best_citations,
        coalesce(papers.publication_date, make_date(papers.year, 1, 1)) as published
    from links
    inner join main.papers on papers.paper_id = links.paper_id
    inner join metrics.paper_best_citations as best on best.paper_id = links.paper_id
    where papers.year is not null
),

kinds as (
    select * from (values ('month'), ('year')) as k(period_kind)
),

spans as (
    select topic_id, any_value(topic_name) as topic_name, kinds.period_kind, min(date_trunc(kinds.period_kind, published)) as first_period
    from works cross join kinds
    group by topic_id, kinds.period_kind
),

periods as (
    select
        spans.topic_id, spans.topic_name, spans.period_kind,
        cast(unnest(generate_series(
            spans.first_period,
            date_trunc(spans.period_kind, current_date),
            case when spans.period_kind = 'month' then interval 1 month else interval 1 year end
        )) as date) as period_start
    from spans
),

counted as (
    select
        periods.topic_id, periods.topic_name, periods.period_kind, periods.period_start,
        count(works.paper_id) as works,
        cast(coalesce(sum(works.best_citations), 0) as bigint) as citations
    from periods
    left join works
        on works.topic_id = periods.topic_id
        and cast(date_trunc(periods.period_kind, works.published) as date) = periods.period_start
    group by all
),

final as (
    select
        topic_id, topic_name, period_kind, period_start, works, citations,
        lag(works) over by_period as works_previous,
        works - lag(works) over by_period as works_change,
        case when lag(works) over by_period > 0 then round((works - lag(works) over by_period) / lag(works) over by_period, 3) end as works_growth
    from counted
    window by_period as (partition by topic_id, period_kind order by period_start)
    order by topic_id, period_kind, period_start
)

select * from final

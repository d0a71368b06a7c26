-- grain: one row per topic and calendar month, from the topic's first paper to the latest month in the warehouse (empty months are zero rows)
with links as (
    select topic_kind, topic_id, any_value(topic_name) as topic_name, paper_id
    from main.paper_topics
    group by topic_kind, topic_id, paper_id
),

papers as (
    select
        paper_id,
        cast(date_trunc('month', coalesce(publication_date, make_date(year, 1, 1))) as date) as month
    from main.papers
    where year is not null
),

citations as (
    select paper_id, best_citations as citations
    from metrics.paper_best_citations
),

monthly as (
    select
        links.topic_kind,
        links.topic_id,
        papers.month,
        count(*) as papers,
        cast(sum(coalesce(citations.citations, 0)) as bigint) as citations
    from links
    inner join papers on papers.paper_id = links.paper_id
    left join citations on citations.paper_id = links.paper_id
    group by links.topic_kind, links.topic_id, papers.month
),

topics as (
    select topic_kind, topic_id, any_value(topic_name) as topic_name
    from links
    group by topic_kind, topic_id
),

calendar as (
    select
        bounds.topic_kind,
        bounds.topic_id,
        cast(unnest(generate_series(cast(bounds.first_month as timestamp), cast(last.month as timestamp), interval 1 month)) as date) as month
    from (select topic_kind, topic_id, min(month) as first_month from monthly group by topic_kind, topic_id) as bounds
    cross join (select max(month) as month from papers) as last
),

filled as (
    select
        calendar.topic_kind,
        calendar.topic_id,
        calendar.month,
        coalesce(monthly.papers, 0) as papers,
        coalesce(monthly.citations, 0) as citations
    from calendar
    left join monthly
        on monthly.topic_kind = calendar.topic_kind
        and monthly.topic_id = calendar.topic_id
        and monthly.month = calendar.month
),

final as (
    select
        filled.topic_kind,
        filled.topic_id,
        topics.topic_name,
        filled.month,
        filled.papers,
        filled.citations,
        lag(filled.papers) over by_month as papers_prev_month,
        filled.papers - lag(filled.papers) over by_month as papers_change,
        case
            when lag(filled.papers) over by_month > 0
                then round(100.0 * (filled.papers - lag(filled.papers) over by_month) / lag(filled.papers) over by_month, 1)
        end as papers_change_pct,
        filled.citations - lag(filled.citations) over by_month as citations_change,
        cast(sum(filled.papers) over (by_month rows between 2 preceding and current row) as bigint) as papers_3m,
        cast(sum(filled.papers) over (by_month rows between unbounded preceding and current row) as bigint) as papers_to_date
    from filled
    inner join topics on topics.topic_kind = filled.topic_kind and topics.topic_id = filled.topic_id
    window by_month as (partition by filled.topic_kind, filled.topic_id order by filled.month)
    order by filled.topic_kind, filled.topic_id, filled.month
)

select * from final

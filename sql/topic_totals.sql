-- grain: one row per topic (watchlist topic, OpenAlex topic, arXiv category, S2 field): its papers and their citations over all months, ranked by papers within its kind
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

final as (
    select
        links.topic_kind,
        links.topic_id,
        any_value(links.topic_name) as topic_name,
        count(*) as papers,
        cast(sum(coalesce(citations.citations, 0)) as bigint) as citations,
        min(papers.month) as first_month,
        max(papers.month) as last_month,
        row_number() over (partition by links.topic_kind order by count(*) desc, links.topic_id) as rank_in_kind
    from links
    inner join papers on papers.paper_id = links.paper_id
    left join citations on citations.paper_id = links.paper_id
    group by links.topic_kind, links.topic_id
    order by links.topic_kind, rank_in_kind
)

select * from final

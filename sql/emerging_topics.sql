-- grain: one row per topic (watchlist topics and source topics: OpenAlex topics, arXiv categories, S2 fields): how old its works are (first quartile, median, third quartile publication year, bibliometrix-style), growth of the last two calendar years vs the two before, citations, and Hugging Face upvotes as a separate community signal
with links as (
    select topic_kind, topic_id, any_value(topic_name) as topic_name, paper_id
    from main.paper_topics
    group by topic_kind, topic_id, paper_id
),

upvotes as (
    -- the newest upvote count of each paper listed on Hugging Face Papers
    select x.paper_id, max(s.value) as upvotes
    from (
        select record_id, arg_max(value, observed_at) as value
        from main.metric_snapshots
        where source = 'hf_papers' and metric = 'upvotes'
        group by record_id
    ) as s
    inner join main.work_xref as x on x.source = 'hf_papers' and x.source_work_id = s.record_id
    group by x.paper_id
),

works as (
    select links.*, papers.year, best.best_citations, upvotes.upvotes
    from links
    inner join main.papers on papers.paper_id = links.paper_id
    inner join metrics.paper_best_citations as best on best.paper_id = links.paper_id
    left join upvotes on upvotes.paper_id = links.paper_id
    where papers.year is not null
),

this_year as (
    select cast(extract(year from current_date) as integer) as year
),

per_topic as (
    select
        topic_kind,
        topic_id,
        any_value(topic_name) as topic_name,
        count(*) as works,
        min(year) as first_year,
        cast(quantile_disc(year, 0.25) as integer) as q1_year,
        cast(quantile_disc(year, 0.5) as integer) as median_year,
        cast(quantile_disc(year, 0.75) as integer) as q3_year,
        count(*) filter (where year > (select year from this_year) - 2) as works_last_2y,
        count(*) filter (where year between (select year from this_year) - 3 and (select year from this_year) - 2) as works_prev_2y,
        cast(sum(best_citations) as bigint) as citations,
        cast(sum(upvotes) as bigint) as hf_upvotes,
        count(upvotes) as works_on_hf
    from works
    group by topic_kind, topic_id
),

final as (
    select
        topic_kind,
        topic_id,
        topic_name,
        works,
        first_year,
        q1_year,
        median_year,
        q3_year,
        works_last_2y,
        works_prev_2y,
        case when works_prev_2y > 0 then round((works_last_2y - works_prev_2y) / works_prev_2y, 3) end as growth,
        citations,
        hf_upvotes,
        works_on_hf,
        -- young (half its works from the last two years) and growing, with enough works to tell
        works >= 3 and median_year >= (select year from this_year) - 1 and works_last_2y > works_prev_2y as is_emerging
    from per_topic
    order by is_emerging desc, growth desc nulls last, works desc, topic_kind, topic_id
)

select * from final

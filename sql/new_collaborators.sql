-- grain: one row per pair of co-authors (at least one watched) whose first shared work arrived in the latest successful run
with latest as (
    select run_id from main.runs where status <> 'failed' order by finished_at desc, run_id desc limit 1
),

pairs as (
    select
        author_id_a, any_value(display_name_a) as display_name_a, any_value(is_watched_a) as is_watched_a,
        author_id_b, any_value(display_name_b) as display_name_b, any_value(is_watched_b) as is_watched_b,
        cast(sum(works) as bigint) as works,
        min(first_year_together) as first_year_together,
        min(first_run_id) as first_run_id,
        string_agg(paper_ids, '; ' order by year) as paper_ids
    from metrics.coauthorships
    group by author_id_a, author_id_b
),

final as (
    select
        pairs.author_id_a, pairs.display_name_a, pairs.is_watched_a,
        pairs.author_id_b, pairs.display_name_b, pairs.is_watched_b,
        pairs.works, pairs.first_year_together, pairs.first_run_id, pairs.paper_ids
    from pairs
    inner join latest on latest.run_id = pairs.first_run_id
    order by pairs.author_id_a, pairs.author_id_b
)

select * from final

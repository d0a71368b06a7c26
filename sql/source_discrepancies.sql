-- grain: one row per entity (work or watched researcher), metric and source whose figure differs from the warehouse's "best" one beyond the threshold (works: citations differ by >= 10 and >= 25 % of the larger; researchers: h-index differs by >= 2), with both numbers
with work_counts as (
    select c.paper_id, c.source, max(c.cited_by_count) as value
    from main.paper_citations as c
    where c.cited_by_count is not null
    group by c.paper_id, c.source
),

work_rows as (
    select
        'work' as level, best.paper_id as entity_id, papers.title as entity_name, 'citations' as metric,
        'best:' || best.best_source as source_a, best.best_citations as value_a, other.source as source_b, other.value as value_b
    from metrics.paper_best_citations as best
    inner join work_counts as other on other.paper_id = best.paper_id and other.source <> best.best_source
    inner join main.papers on papers.paper_id = best.paper_id
    where abs(best.best_citations - other.value) >= 10
        and abs(best.best_citations - other.value) >= 0.25 * greatest(best.best_citations, other.value)
),

best_h as (
    select author_id, display_name, h_index from metrics.citations_per_author where source = 'best'
),

other_h as (
    -- h computed here from one source's counts, and the h each source reports for its own profile
    select author_id, source, h_index as value
    from metrics.citations_per_author
    where source in ('openalex', 'semantic_scholar')
    union all
    select author_id, source || '_reported' as source, max(h_index) as value
    from main.author_profiles
    where h_index is not null
    group by author_id, source
),

researcher_rows as (
    select
        'researcher' as level, best_h.author_id as entity_id, best_h.display_name as entity_name, 'h_index' as metric,
        'best' as source_a, best_h.h_index as value_a, other_h.source as source_b, other_h.value as value_b
    from best_h
    inner join other_h on other_h.author_id = best_h.author_id
    where abs(best_h.h_index - other_h.value) >= 2
),

both_levels as (
    select * from work_rows
    union all
    select * from researcher_rows
),

final as (
    select
        level, entity_id, entity_name, metric, source_a, cast(value_a as bigint) as value_a, source_b, cast(value_b as bigint) as value_b,
        cast(value_b - value_a as bigint) as difference,
        round(abs(value_b - value_a) / greatest(value_a, value_b, 1), 3) as relative_difference
    from both_levels
    order by level, relative_difference desc, entity_id, source_b
)

select * from final

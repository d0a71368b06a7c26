-- grain: one row per watchlist group ([[groups]]: a lab, a department) and citation source (openalex, semantic_scholar, best): indices over the members' works, each work counted once however many members wrote it
with members as (
    select group_id, group_name, author_id from main.research_groups
),

group_papers as (
    select distinct members.group_id, authorships.paper_id, papers.year
    from members
    inner join main.authorships on authorships.author_id = members.author_id
    inner join main.papers on papers.paper_id = authorships.paper_id
    inner join metrics.paper_best_citations as b on b.paper_id = authorships.paper_id and b.counts_in_indices
),

per_source as (
    select group_papers.group_id, group_papers.paper_id, group_papers.year, c.source, max(c.cited_by_count) as cited_by_count
    from group_papers
    inner join main.paper_citations as c on c.paper_id = group_papers.paper_id
    where c.source in ('openalex', 'semantic_scholar')
    group by all
),

best as (
    select group_papers.group_id, group_papers.paper_id, group_papers.year, 'best' as source, b.best_citations as cited_by_count
    from group_papers
    inner join metrics.paper_best_citations as b on b.paper_id = group_papers.paper_id
),

ranked as (
    select
        *,
        row_number() over by_count as rank_by_citations,
        sum(cited_by_count) over (by_count rows between unbounded preceding and current row) as cumulative,
        case when year >= extract(year from current_date) - 4 then
            row_number() over (partition by group_id, source, year >= extract(year from current_date) - 4 order by cited_by_count desc, paper_id)
        end as rank_recent
    from (select * from per_source union all select * from best)
    window by_count as (partition by group_id, source order by cited_by_count desc, paper_id)
),

indices as (
    select
        group_id,
        source,
        count(*) as works,
        cast(sum(cited_by_count) as bigint) as citations,
        coalesce(max(rank_by_citations) filter (where cited_by_count >= rank_by_citations), 0) as h_index,
        coalesce(max(rank_by_citations) filter (where cumulative >= rank_by_citations * rank_by_citations), 0) as g_index,
        count(*) filter (where cited_by_count >= 10) as i10_index,
        coalesce(max(rank_recent) filter (where cited_by_count >= rank_recent), 0) as h5_index
    from ranked
    group by group_id, source
),

groups as (
    select group_id, any_value(group_name) as group_name, count(*) as members, string_agg(author_id, '; ' order by author_id) as member_ids
    from members
    group by group_id
),

sources as (
    select * from (values ('openalex'), ('semantic_scholar'), ('best')) as s(source)
),

final as (
    select
        groups.group_id,
        groups.group_name,
        groups.members,
        groups.member_ids,
        sources.source,
        coalesce(indices.works, 0) as works,
        coalesce(indices.citations, 0) as citations,
        coalesce(indices.h_index, 0) as h_index,
        coalesce(indices.g_index, 0) as g_index,
        coalesce(indices.i10_index, 0) as i10_index,
        coalesce(indices.h5_index, 0) as h5_index
    from groups
    cross join sources
    left join indices on indices.group_id = groups.group_id and indices.source = sources.source
    order by groups.group_id, sources.source
)

select * from final

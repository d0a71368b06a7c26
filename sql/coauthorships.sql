-- grain: one row per calendar year and pair of co-authors of whom at least one is watched (person-level author ids): shared works that year, and the run that first brought the pair together
with credited as (
    select distinct authorships.paper_id, authorships.author_id, authorships.is_watched
    from main.authorships
    where authorships.author_id is not null
),

pairs as (
    select
        least(a.author_id, b.author_id) as author_id_a,
        greatest(a.author_id, b.author_id) as author_id_b,
        a.paper_id
    from credited as a
    inner join credited as b on b.paper_id = a.paper_id and b.author_id <> a.author_id
    -- from the watched side only, so a 1,000-author paper gives 1,000 pairs, not a million
    where a.is_watched
),

dated as (
    select distinct pairs.author_id_a, pairs.author_id_b, pairs.paper_id, papers.year, papers.first_run_id
    from pairs
    inner join main.papers on papers.paper_id = pairs.paper_id
    where papers.year is not null
),

first_seen as (
    select author_id_a, author_id_b, min(first_run_id) as first_run_id, min(year) as first_year
    from dated
    group by author_id_a, author_id_b
),

final as (
    select
        dated.year,
        dated.author_id_a,
        a.display_name as display_name_a,
        a.is_watched as is_watched_a,
        dated.author_id_b,
        b.display_name as display_name_b,
        b.is_watched as is_watched_b,
        count(*) as works,
        string_agg(dated.paper_id, '; ' order by dated.paper_id) as paper_ids,
        first_seen.first_year as first_year_together,
        first_seen.first_run_id as first_run_id
    from dated
    inner join main.authors as a on a.author_id = dated.author_id_a
    inner join main.authors as b on b.author_id = dated.author_id_b
    inner join first_seen on first_seen.author_id_a = dated.author_id_a and first_seen.author_id_b = dated.author_id_b
    group by all
    order by dated.year, dated.author_id_a, dated.author_id_b
)

select * from final

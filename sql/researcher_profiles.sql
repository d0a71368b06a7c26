-- grain: one row per watched researcher, source and source profile: the indices each source reports itself
with profiles as (
    select * from main.author_profiles
),

watched as (
    select author_id, display_name from main.authors where is_watched
),

final as (
    select
        watched.author_id,
        watched.display_name,
        profiles.source,
        profiles.source_author_id,
        profiles.source_name,
        profiles.works_count,
        profiles.cited_by_count,
        profiles.h_index,
        profiles.i10_index,
        profiles.observed_at
    from profiles
    inner join watched on watched.author_id = profiles.author_id
    order by watched.author_id, profiles.source, profiles.source_author_id
)

select * from final

{#-
    Late-arriving dimensions, the Kimball way: a fact whose dimension version is not delivered yet
    points at an *inferred member* of its natural key, a placeholder row of the dimension
    (is_inferred = true, unknown attributes, no validity interval), until the version arrives.
    The dimension model builds the placeholders (inferred_members, unchanged_versions), the facts
    fall back to inferred_member_key when the point-in-time join finds no delivered version.
-#}

{#-
    Surrogate key of the inferred member of a natural key: the same on every run and engine, and
    never a real version's key (those hash the key with a valid_from timestamp, not 'inferred').
    Null when the natural key is null (a fact without one has nothing to wait for).
-#}
{% macro inferred_member_key(natural_key) -%}
    case when {{ natural_key }} is not null then {{ lakehouse.surrogate_key([natural_key, "'inferred'"]) }} end
{%- endmacro %}


{#-
    The natural keys whose inferred member this run writes, with `has_versions` (whether the key
    has a delivered version), so the dimension model can add their placeholder rows.

    `versions` (CTE): the delivered versions this run writes, columns key, valid_from, valid_to,
    business_date and `matching`. `references` (CTE): what the facts need of the dimension, one
    row per fact: key, `referenced_at` (the instant the fact joins a version at), business_date
    (of the silver row, as in facts_to_recompute) and `matching`. A reference is resolved when a
    delivered version is valid at referenced_at and equals it on every `matching` column (an
    order line's unit_price is the price of the product version valid when it was ordered:
    another price means that version is not delivered yet); a key with an unresolved reference
    gets an inferred member. The facts (fct_orders, fct_order_items) resolve the same way in
    their point-in-time join.

    On a full refresh every reference is checked against every version. An incremental run
    rewrites all the rows of the keys it recomputes (delete+insert), so it checks again every
    reference whose resolution can change in this run or that may still wait:
    - the references with a silver row in the window (new facts, and facts that changed);
    - of a key with a version new in the window, the references at or after that version's
      valid_from (versions before it are unchanged); with the first, the facts
      facts_to_recompute rebuilds;
    - every reference of a recomputed key that had an inferred member: its waiting facts may be
      of any time, also before its new versions (they wait on).
    Versions of keys not recomputed are read from {{ this }}; such a key gets an inferred member
    (and unchanged_versions rewrites its delivered rows) when one of its new references is
    unresolved and it had none yet.
-#}
{% macro inferred_members(versions, references, key, matching=[]) -%}
    {%- set in_window = lakehouse.in_business_date_window() | trim or 'true' -%}
    {%- set columns = [key, 'valid_from', 'valid_to'] + matching -%}
    with

    {%- if is_incremental() %}
    recomputed as (
        select distinct {{ key }} from {{ versions }}
    ),

    previously_inferred as (
        select {{ key }} from {{ this }} where is_inferred
    ),

    rechecked_from as (
        -- Per key, the time from which its older references are checked again.
        select {{ key }}, min(since) as since
        from (
            select {{ key }}, valid_from as since
            from {{ versions }}
            where {{ in_window }}
            union all
            select previously_inferred.{{ key }}, {{ lakehouse.beginning_of_time() }} as since
            from previously_inferred
            inner join recomputed
                on previously_inferred.{{ key }} = recomputed.{{ key }}
        ) starts
        group by {{ key }}
    ),

    checked as (
        select * from {{ references }}
        where {{ in_window }}
        union all
        select {{ references }}.*
        from {{ references }}
        inner join rechecked_from
            on {{ references }}.{{ key }} = rechecked_from.{{ key }}
            and {{ references }}.referenced_at >= rechecked_from.since
    ),

    delivered as (
        select {{ columns | join(', ') }} from {{ versions }}
        union all
        select {{ columns | join(', ') }}
        from {{ this }}
        where not is_inferred
            and {{ key }} not in (select {{ key }} from recomputed)
    ),

    {%- else %}
    checked as (
        select * from {{ references }}
    ),

    delivered as (
        select {{ columns | join(', ') }} from {{ versions }}
    ),
    {%- endif %}

    unresolved as (
        select distinct checked.{{ key }}
        from checked
        left join delivered
            on checked.{{ key }} = delivered.{{ key }}
            and {{ lakehouse.valid_at('delivered', 'checked.referenced_at') }}
            {%- for column in matching %}
            and checked.{{ column }} = delivered.{{ column }}
            {%- endfor %}
        where delivered.{{ key }} is null
    ),

    delivered_keys as (
        select distinct {{ key }} from delivered
    )

    select
        unresolved.{{ key }},
        delivered_keys.{{ key }} is not null as has_versions
    from unresolved
    left join delivered_keys
        on unresolved.{{ key }} = delivered_keys.{{ key }}
    {%- if is_incremental() %}
    -- A key not recomputed that has its inferred member already keeps its stored rows.
    where unresolved.{{ key }} in (select {{ key }} from recomputed)
        or unresolved.{{ key }} not in (select {{ key }} from previously_inferred)
    {%- endif %}
{%- endmacro %}


{#-
    The delivered versions stored by earlier runs of the keys in `members` (inferred_members) that
    this run does not recompute: delete+insert replaces every row of a key, so they are written
    again, unchanged. None on a full refresh. Same columns as {{ this }}, i.e. as `versions`.
-#}
{% macro unchanged_versions(members, versions, key) -%}
    {%- if is_incremental() %}
    select *
    from {{ this }}
    where not is_inferred
        and {{ key }} in (select {{ key }} from {{ members }})
        and {{ key }} not in (select {{ key }} from {{ versions }})
    {%- else %}
    select * from {{ versions }}
    where 1 = 0
    {%- endif %}
{%- endmacro %}


{#- An instant before any data: the start of a validity interval that covers all time. -#}
{% macro beginning_of_time() -%}
    cast('1900-01-01 00:00:00' as {{ lakehouse.type_timestamp_us() }})
{%- endmacro %}

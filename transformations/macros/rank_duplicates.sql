{#-
    Every row of `relation` plus `rank_column`: its rank among the rows of the same `key`, by
    `order_by` (1 = first). Only keys with several rows go through the window; the rest, almost
    all rows of a re-send dedup, get rank 1 directly. A window over every row holds the whole
    relation in memory: at 8M order lines DuckDB's ran out of its 1 GB limit, while its hash
    aggregation and semi-join here spill to disk. A null key is ranked as the window ranks it.
-#}
{% macro rank_duplicates(relation, key, order_by, rank_column) -%}
    select {{ relation }}.*, 1 as {{ rank_column }}
    from {{ relation }}
    where {{ key }} in (
        select {{ key }} from {{ relation }} group by {{ key }} having count(*) = 1
    )
    union all
    select
        {{ relation }}.*,
        row_number() over (partition by {{ key }} order by {{ order_by }}) as {{ rank_column }}
    from {{ relation }}
    where {{ key }} is null or {{ key }} in (
        select {{ key }} from {{ relation }} group by {{ key }} having count(*) > 1
    )
{%- endmacro %}

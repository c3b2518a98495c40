{#-
    The business dates a run processes, [start, end) with end exclusive, or none: from the vars
    business_date_start / business_date_end when given (`dbt build --vars ...`), else from the
    environment variables LAKEHOUSE_BUSINESS_DATE_START / _END, which is how Dagster passes each
    partition run's window: dbt re-parses the whole project whenever --vars change, while an
    environment variable read only when SQL is compiled leaves partial parsing intact.
-#}
{% macro business_date_window() -%}
    {%- set start = var('business_date_start', env_var('LAKEHOUSE_BUSINESS_DATE_START', '')) -%}
    {%- set end = var('business_date_end', env_var('LAKEHOUSE_BUSINESS_DATE_END', '')) -%}
    {{ return({'start': start, 'end': end} if start else none) }}
{%- endmacro %}


{#-
    The arrival columns every staging view ends with: arrived_at (UTC wall-clock time),
    business_date (its date: the delivery an incremental run's window selects by) and the raw
    `_arrived_at` as delivered, which arrival-window filters use because a filter on a plain raw
    column reaches the scan, which then skips the raw files outside the window.
-#}
{% macro arrival_columns() -%}
    {{ lakehouse.utc_timestamp('_arrived_at') }} as arrived_at,
        cast({{ lakehouse.utc_timestamp('_arrived_at') }} as date) as business_date,
        _arrived_at
{%- endmacro %}


{#-
    `<column> in the run's window` as SQL, or '' when the run has no window. A date column is
    compared with the window's dates; with `instants`, a time zone aware arrival column with their
    midnights UTC: the same rows as business_date on bronze, but a filter on the plain raw
    `_arrived_at` reaches the scan, which then skips the raw files outside the window (on an
    expression such as business_date it has to read every row).
-#}
{% macro in_business_date_window(column='business_date', instants=false) -%}
    {%- set window = business_date_window() -%}
    {%- if window -%}
        {%- for day, op in [(window.start, '>='), (window.end, '<')] if day -%}
            {%- if not loop.first %} and {% endif -%}
            {{ column }} {{ op }} {{ lakehouse.utc_midnight(day) if instants else "cast('" ~ day ~ "' as date)" }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#-
    Predicate selecting the bronze rows an incremental run must look at: the rows that arrived in
    the business_date_window() when there is one (each Dagster partition run has one, so backfills
    in any order are picked up), else everything that arrived after the latest arrival already in
    {{ this }}. Models use it only to find the *keys* touched, then recompute those keys from their
    whole history, so an incremental run gives the same rows as a full refresh.
-#}
{% macro incremental_window(raw_arrived_at='_arrived_at', arrived_at='arrived_at') -%}
    {%- set in_window = in_business_date_window(raw_arrived_at, instants=true) | trim -%}
    {%- if in_window -%}
        {{ in_window }}
    {%- else -%}
        {{ arrived_at }} > (
            select coalesce(max(arrived_at), cast('1900-01-01' as {{ lakehouse.type_timestamp_us() }}))
            from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}


{#-
    dbt's is_incremental(), except under `dbt compile --no-introspect` (no database to ask, e.g.
    checking the Trino SQL without a server): then the var `compile_incremental` (default false)
    chooses which branch is compiled. Every other command uses dbt's macro unchanged.
-#}
{% macro is_incremental() %}
    {%- if execute and not flags.INTROSPECT -%}
        {{ return(var('compile_incremental', false)) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{% endmacro %}


{#-
    The rows of the CTE `source` an incremental run recomputes: every row of each key that has a
    row in the incremental window (a key's whole history, so late and re-sent rows give the same
    result as a full refresh). On a full refresh: all of `source`.
    `follows` maps a column of `source` to a relation whose keys the window touches in that column:
    their rows are recomputed too. A parent rebuilt from its whole history may take versions that
    arrived after the window (already in raw when an earlier date runs, e.g. a backfill); its
    children follow it, so the two never disagree (an order shown paid has its payments).
-#}
{% macro changed_key_history(source, key, follows={}) -%}
    {%- if is_incremental() %}
    select {{ source }}.*
    from {{ source }}
    inner join (
        select distinct {{ key }} from {{ source }}
        where {{ incremental_window() }}
        {%- for column, relation in follows.items() %}
        union
        select {{ key }} from {{ source }}
        where {{ column }} in (
            select {{ column }} from {{ relation }}
            where {{ incremental_window() }}
        )
        {%- endfor %}
    ) changed_keys
        on {{ source }}.{{ key }} = changed_keys.{{ key }}
    {%- else %}
    select * from {{ source }}
    {%- endif %}
{%- endmacro %}


{#-
    The rows of the CTE `facts` (one row per fact of an incremental gold model) an incremental
    run recomputes; on a full refresh: all of `facts`. Recomputed are the facts that
    - have a silver row in the incremental window: `changed_rows` maps a column of `facts` to the
      silver relations whose rows change the facts with the same value (order_id: orders,
      order_items, payments). A silver row carries the business_date of the arrival it keeps, so
      a row this run changed is in its window (or, pulled in from a later date already in raw,
      in the window of that date's run);
    - may join another version point in time: `new_versions` maps a natural key column of `facts`
      to its SCD2 dimension. A version first delivered in the window (the dimension's
      business_date) changes its key's validity intervals only from its valid_from on (the version
      before it now ends there; a new first version starts there, created_at being the same in
      every version), so of that key only the facts with `at` >= the earliest new valid_from are
      recomputed, not all of them.
    A fact pointing at an inferred member (its dimension version not delivered yet,
    macros/inferred_members.sql) is among them once the version arrives: that version is valid at
    the fact's `at`, so it starts at or before it, and it is first delivered in the window; the
    fact is recomputed and re-pointed at it.
    Without a business_date_window() nothing records which silver rows the facts have seen
    (silver's watermark is its own latest arrival), so every row counts as changed: all facts.
-#}
{% macro facts_to_recompute(facts, changed_rows, new_versions, at) -%}
    {%- if is_incremental() %}
    {%- set in_window = in_business_date_window() | trim or 'true' %}
    {%- set aliases = {} %}
    {%- for key in new_versions %}
        {%- do aliases.update({key: 'new_' ~ (key[:-3] if key.endswith('_id') else key) ~ '_versions'}) %}
    {%- endfor %}
    select {{ facts }}.*
    from {{ facts }}
    {%- for key, dimension in new_versions.items() %}
    left join (
        select {{ key }}, min(valid_from) as changed_from
        from {{ dimension }}
        where {{ in_window }}
        group by {{ key }}
    ) {{ aliases[key] }}
        on {{ facts }}.{{ key }} = {{ aliases[key] }}.{{ key }}
    {%- endfor %}
    where
    {%- for column, relations in changed_rows.items() %}
        {% if not loop.first %}or {% endif %}{{ facts }}.{{ column }} in (
        {%- for relation in relations %}
            {% if not loop.first %}union all {% endif %}select {{ column }} from {{ relation }} where {{ in_window }}
        {%- endfor %}
        )
    {%- endfor %}
    {%- for key in new_versions %}
        or {{ facts }}.{{ at }} >= {{ aliases[key] }}.changed_from
    {%- endfor %}
    {%- else %}
    select * from {{ facts }}
    {%- endif %}
{%- endmacro %}

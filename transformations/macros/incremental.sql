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
    Predicate selecting the bronze rows an incremental run must look at: the rows of the
    business_date_window() when there is one (each Dagster partition run has one, so backfills in
    any order are picked up), else everything that arrived after the latest arrival already in
    {{ this }}. Models use it only to find the *keys* touched, then recompute those keys from their
    whole history, so an incremental run gives the same rows as a full refresh.
-#}
{% macro incremental_window(business_date='business_date', arrived_at='arrived_at') -%}
    {%- set window = business_date_window() -%}
    {%- if window -%}
        {{ business_date }} >= cast('{{ window.start }}' as date)
        {%- if window.end %} and {{ business_date }} < cast('{{ window.end }}' as date){% endif -%}
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
-#}
{% macro changed_key_history(source, key) -%}
    {%- if is_incremental() %}
    select {{ source }}.*
    from {{ source }}
    inner join (
        select distinct {{ key }} from {{ source }}
        where {{ incremental_window() }}
    ) changed_keys
        on {{ source }}.{{ key }} = changed_keys.{{ key }}
    {%- else %}
    select * from {{ source }}
    {%- endif %}
{%- endmacro %}

{#-
    Raw timestamps are tz-aware UTC. Every model works in UTC wall-clock time without a zone
    (microseconds), so dates (business_date, order_date) never depend on a session time zone.
-#}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'lakehouse')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast({{ column }} as {{ lakehouse.type_timestamp_us() }})
{%- endmacro %}

{#-
    DuckDB: a timestamptz is microseconds since the epoch in UTC, so rebuilding a plain timestamp
    from them is the UTC wall-clock time, whatever the session zone; ~10x cheaper than
    timezone('UTC', ...), which goes through the time zone library (1.5 s per 10M values).
-#}
{% macro duckdb__utc_timestamp(column) -%}
    make_timestamp(epoch_us({{ column }}))
{%- endmacro %}

{#- Trino: shift to UTC, then drop the zone; timestamp(6) keeps the microseconds. -#}
{% macro trino__utc_timestamp(column) -%}
    cast({{ column }} at time zone 'UTC' as {{ lakehouse.type_timestamp_us() }})
{%- endmacro %}


{#-
    A timestamp as text with all six fractional digits, 'YYYY-MM-DD HH:MM:SS.ffffff', the same on
    both engines, so surrogate keys hashed from timestamps are identical on DuckDB and Trino.
-#}
{% macro timestamp_to_string(column) -%}
    {{ return(adapter.dispatch('timestamp_to_string', 'lakehouse')(column)) }}
{%- endmacro %}

{#- Trino prints a timestamp(6) cast to varchar with all six digits. -#}
{% macro default__timestamp_to_string(column) -%}
    cast({{ column }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- DuckDB drops a zero fraction when casting; strftime keeps it. -#}
{% macro duckdb__timestamp_to_string(column) -%}
    strftime({{ column }}, '%Y-%m-%d %H:%M:%S.%f')
{%- endmacro %}


{#- Midnight UTC of a 'YYYY-MM-DD' date, as a time zone aware constant (compares to raw instants). -#}
{% macro utc_midnight(day) -%}
    {{ return(adapter.dispatch('utc_midnight', 'lakehouse')(day)) }}
{%- endmacro %}

{% macro default__utc_midnight(day) -%}
    timestamp '{{ day }} 00:00:00 UTC'
{%- endmacro %}

{% macro duckdb__utc_midnight(day) -%}
    cast('{{ day }} 00:00:00+00' as timestamptz)
{%- endmacro %}

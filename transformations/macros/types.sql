{#- Column types the models share, written once so both engines get the same ones. -#}

{#- Money as delivered by the source: decimal(12,2). -#}
{% macro type_money() -%}
    decimal(12, 2)
{%- endmacro %}

{#- Sums of money: wider than a single amount, still two decimals (a bare sum is decimal(38,2)). -#}
{% macro type_amount() -%}
    decimal(18, 2)
{%- endmacro %}

{#-
    A timestamp with microsecond precision. dbt.type_timestamp() is plain `timestamp`, which Trino
    reads as timestamp(3) (milliseconds) and Iceberg cannot store; DuckDB's is microseconds already.
-#}
{% macro type_timestamp_us() -%}
    {{ return(adapter.dispatch('type_timestamp_us', 'lakehouse')()) }}
{%- endmacro %}

{% macro default__type_timestamp_us() -%}
    {{ return(dbt.type_timestamp()) }}
{%- endmacro %}

{% macro trino__type_timestamp_us() -%}
    {{ return('timestamp(6)') }}
{%- endmacro %}

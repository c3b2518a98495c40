-- Customer dimension, SCD type 2: one row per customer version with a validity interval
-- [valid_from, valid_to). valid_to is null for the current version (no far-future sentinel).
-- Incremental: the customers touched by the new rows are recomputed from their whole history
-- and replace their old versions (delete+insert on customer_id), so late or out-of-order
-- versions give the same rows as a full refresh.
-- Late-arriving customers: an order placed by a customer with no delivered version valid at
-- that time waits for it; the customer gets an inferred member (a placeholder row, is_inferred)
-- for such orders to point at, which goes once the customer arrives
-- (macros/inferred_members.sql).
{{ config(unique_key='customer_id') }}

with

source as (

    select * from {{ ref('stg_customers') }}

),

history as (

    {{ changed_key_history('source', 'customer_id') }}

),

validity as (

    {{ scd2_versions('history', 'customer_id') }}

),

versions as (

    select
        {{ surrogate_key(['customer_id', timestamp_to_string('valid_from')]) }} as customer_key,
        customer_id,
        first_name,
        last_name,
        email,
        city,
        country,
        segment,
        created_at,
        updated_at,
        valid_from,
        valid_to,
        valid_to is null as is_current,
        version_number,
        false as is_inferred,
        arrived_at,
        business_date
    from validity

),

referenced as (

    -- What the orders need of a customer: the version valid when ordered.
    select
        customer_id,
        ordered_at as referenced_at,
        business_date
    from {{ ref('orders') }}

),

waiting as (

    -- Customers with orders waiting for them: they get an inferred member.
    {{ inferred_members('versions', 'referenced', 'customer_id') }}

),

unchanged as (

    {{ unchanged_versions('waiting', 'versions', 'customer_id') }}

),

inferred as (

    -- The placeholder: unknown attributes, no validity interval (a point-in-time join never
    -- matches it); current while the customer has no delivered version.
    select
        {{ inferred_member_key('customer_id') }} as customer_key,
        customer_id,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as country,
        cast(null as {{ dbt.type_string() }}) as segment,
        cast(null as {{ type_timestamp_us() }}) as created_at,
        cast(null as {{ type_timestamp_us() }}) as updated_at,
        cast(null as {{ type_timestamp_us() }}) as valid_from,
        cast(null as {{ type_timestamp_us() }}) as valid_to,
        not has_versions as is_current,
        cast(0 as {{ dbt.type_bigint() }}) as version_number,
        true as is_inferred,
        cast(null as {{ type_timestamp_us() }}) as arrived_at,
        cast(null as date) as business_date
    from waiting

),

final as (

    select * from versions
    union all
    select * from unchanged
    union all
    select * from inferred

)

select * from final

-- Customer dimension, SCD type 2: one row per customer version with a validity interval
-- [valid_from, valid_to). valid_to is null for the current version (no far-future sentinel).
-- Incremental: the customers touched by the new rows are recomputed from their whole history
-- and replace their old versions (delete+insert on customer_id), so late or out-of-order
-- versions give the same rows as a full refresh.
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

final as (

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
        arrived_at,
        business_date
    from validity

)

select * from final

-- 002-leases.sql — the lease and recovery columns of the keys: the same
-- file as onceshop's 002-payments.sql includes.
\ir ../common/keys-leases.sql

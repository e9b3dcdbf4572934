-- The stored settings of one integration, locked until the end of the transaction, so that the
-- history records changes in the order they were made.
SELECT settings FROM sync.integration WHERE id = %(id)s FOR UPDATE

"""Group purchases (SPEC §3b): a list owners add their own items to, finalized into ONE expense
with an ITEM_BASED split."""

-- 0002_assigned_by: how an assigned ticket reached its agent (auto, claim or transfer),
-- so an agent's feed can say why a ticket appeared in their list. NULL while waiting.

ALTER TABLE tickets ADD COLUMN assigned_by TEXT;

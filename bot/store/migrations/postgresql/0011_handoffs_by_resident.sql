-- Every message asks whether its resident is talking with a person (open conversation, or a
-- closed one whose rating was just asked for): found by the resident, newest first, without
-- reading every conversation ever held.
CREATE INDEX handoffs_by_resident ON handoffs(openid, id);

-- mod_parley_multicast: XEP-0033 (Extended Stanza Addressing) multicast on a Prosody 0.12
-- VirtualHost, for trusted external components (XEP-0114) such as Parley only.
--
-- A trusted component sends ONE stanza to the bare host, e.g.
--   <message from='room@rooms.example.org/nick' to='example.org' type='groupchat'>
--     <addresses xmlns='http://jabber.org/protocol/address'>
--       <address type='bcc' jid='alice@example.org/phone'/> ...
--     </addresses><body>hi</body></message>
-- and Prosody posts one copy per address, as if the component had sent each one itself.
--
-- Config (global modules_enabled or the VirtualHost's):
--   modules_enabled = { ...; "parley_multicast" }
--   parley_multicast_components = { "rooms.example.org" }   -- trusted component domains
--   parley_multicast_max_addresses = 10000                  -- optional
--   parley_multicast_read_size = 65536                      -- optional, 0 leaves Prosody's
--   parley_multicast_shared_text = true                     -- optional, see below
-- plugin_paths must include the directory holding this file.

local st = require "util.stanza";
local jid_prep = require "util.jid".prep;
local core_post_stanza = prosody.core_post_stanza;

local xmlns_address = "http://jabber.org/protocol/address";

-- Components do not inherit global modules, but someone may list it under a Component:
-- there it would turn the component's own domain into a relay. Only VirtualHosts.
if module:get_host_type() ~= "local" then
	module:log("error", "mod_parley_multicast belongs on a VirtualHost, not on %s", module.host);
	return;
end

local trusted = module:get_option_set("parley_multicast_components", {});
-- XEP-0033 suggests 20..100 for clients; a component fanning out to a big room needs more.
local max_addresses = module:get_option_number("parley_multicast_max_addresses", 10000);
-- Prosody reads 4 KiB at a time from an accepted connection, less than one fan-out to 100
-- occupants: each read then delivers one event and every copy is a write of its own. Reading
-- more from the trusted component lets one loop pass queue several events per client, which
-- Prosody then writes together, as it does for its own MUC.
local read_size = module:get_option_number("parley_multicast_read_size", 65536);

-- The copies of one fan-out differ only in 'to', and serializing a stanza is about a fifth
-- of what Prosody spends on a copy (~10 of ~50 us). While this module posts the copies,
-- tostring() of that one stanza object splices each address into text made once: only for
-- that object, only until its last copy is posted (a module that keeps the object and writes
-- it later gets Prosody's own text), and only while its own attributes and the list of its
-- children are those the text was made from. A hook that changed a child in place would go
-- unseen; none in Prosody 0.12 does, as its own MUC shares one object between copies too.
-- util.stanza's __tostring is one for the whole process: each host that loads the module
-- installs its wrapper, and the last to unload puts Prosody's own back (unless another
-- module has wrapped it since). The option is therefore in effect if any host has it on.
local share_text = module:get_option_boolean("parley_multicast_shared_text", true);
local stanza_mt, xml_escape = st.stanza_mt, st.xml_escape;
local text = module:shared("/*/parley_multicast/text");
if share_text then
	if not text.plain then
		text.plain, text.hosts = stanza_mt.__tostring, 0;
		text.made = setmetatable({}, { __mode = "k" }); -- stanza -> its text, during a fan-out
		text.wrappers = setmetatable({}, { __mode = "k" });
	end
	local plain, made_for = text.plain, text.made;
	local function shared_tostring(t)
		local made = made_for[t];
		if made then
			local attr, to, same = t.attr, t.attr.to, #t == #made.children;
			for i = 1, #t do same = same and rawequal(t[i], made.children[i]); end
			local count = 0;
			for k, v in pairs(attr) do
				count = count + 1;
				if k ~= "to" and made.attr[k] ~= v then same = false; end
			end
			if same and to and count == made.count then return made.head..xml_escape(to)..made.tail; end
		end
		return plain(t);
	end
	text.wrappers[shared_tostring] = true;
	text.hosts = text.hosts + 1;
	stanza_mt.__tostring = shared_tostring;
	function module.unload()
		text.hosts = text.hosts - 1;
		if text.hosts > 0 then return; end
		if text.wrappers[stanza_mt.__tostring] then stanza_mt.__tostring = text.plain; end
		text.plain, text.made, text.wrappers = nil, nil, nil;
	end
end

-- The text of `stanza` with its 'to' left out (a NUL, which XML text never holds, marks it).
-- The stanza is addressed to this host, so 'to' is one of the attributes counted.
local function make_shared_text(stanza)
	local attr, children, count = {}, {}, 0;
	for k, v in pairs(stanza.attr) do attr[k] = v; count = count + 1; end
	for i = 1, #stanza do children[i] = stanza[i]; end
	stanza.attr.to = "\0";
	local whole = text.plain(stanza);
	local at = whole:find("\0", 1, true);
	return { attr = attr, children = children, count = count, head = whole:sub(1, at - 1), tail = whole:sub(at + 1) };
end

-- Disco#info on the host: this is how a component finds out it may multicast here.
module:add_feature(xmlns_address);

-- Address types that name a recipient; replyto/replyroom/noreply are only information.
local delivery_types = { to = true, cc = true, bcc = true };

local function handle_multicast(event)
	local origin, stanza = event.origin, event.stanza;
	local addresses = stanza:get_child("addresses", xmlns_address);
	if not addresses then return; end -- an ordinary stanza to the host: not ours
	-- The outer stanza must be addressed to the service itself, no node and no resource
	-- (XEP-0033 §3); 'localhost/announce/online' and the like belong to other modules.
	if stanza.attr.to ~= module.host then return; end
	if stanza.attr.type == "error" then return true; end -- never fan out or answer errors

	-- Only our own components: anybody else could make the server a spam relay.
	-- (origin.host of a component session is the component's domain, checked at handshake.)
	if origin.type ~= "component" or not trusted:contains(origin.host) then
		module:log("warn", "Refusing XEP-0033 multicast from %s session %s",
			origin.type, origin.host or "?");
		origin.send(st.error_reply(stanza, "auth", "forbidden",
			"Multicast is only for trusted components"));
		return true;
	end

	if read_size > 0 and not origin.parley_multicast_read_size and origin.conn and origin.conn.set_mode then
		origin.parley_multicast_read_size = true;
		origin.conn:set_mode(read_size);
	end

	-- Check every address before delivering to any (XEP-0033 §6, step 5): all or nothing.
	local targets, seen, kept = {}, {}, {};
	for address in addresses:childtags("address", xmlns_address) do
		local kind = address.attr.type;
		if address.attr.delivered == "true" or not delivery_types[kind] then
			-- Already delivered upstream (loop protection, §4.5), or not a recipient: keep
			-- it for the recipients to see, never deliver to it again.
			if kind ~= "bcc" then table.insert(kept, address); end
		else
			local to = address.attr.jid and jid_prep(address.attr.jid);
			if not to then -- no jid (a 'uri' address, unsupported) or an invalid one
				origin.send(st.error_reply(stanza, "modify", "jid-malformed",
					"Unusable address: "..tostring(address.attr.jid or address.attr.uri)));
				return true;
			end
			if not seen[to] then -- one copy per JID even if listed twice
				seen[to] = true;
				table.insert(targets, to);
				if #targets > max_addresses then
					origin.send(st.error_reply(stanza, "modify", "not-acceptable",
						"More than "..max_addresses.." addresses"));
					return true;
				end
			end
			-- Recipients see the to/cc list marked delivered; bcc entries are dropped (§4.6).
			if kind ~= "bcc" then
				address.attr.delivered = "true";
				table.insert(kept, address);
			end
		end
	end

	-- Replace the block: gone entirely for a pure bcc fan-out (Parley's case), else the
	-- to/cc/informational addresses with delivered='true'.
	stanza:maptags(function (child)
		if child.name == "addresses" and child.attr.xmlns == xmlns_address then
			if #kept == 0 then return nil; end
			local block = st.stanza("addresses", { xmlns = xmlns_address });
			for _, address in ipairs(kept) do block:add_child(address); end
			return block;
		end
		return child;
	end);

	-- Like muc.lib.lua's route_to_occupant: one stanza object, 'to' rewritten per copy.
	-- Posting with the component's session as origin makes each copy behave exactly like a
	-- stanza the component sent itself: same routing (local or s2s), and bounces such as
	-- service-unavailable go back to the component, from the failing recipient.
	-- Stanza handlers that keep a stanza clone it first (mod_mam, mod_offline archives).
	module:log("debug", "Multicast %s from %s to %d addresses", stanza.name,
		stanza.attr.from, #targets);
	if share_text and #targets > 1 then text.made[stanza] = make_shared_text(stanza); end
	for _, to in ipairs(targets) do
		stanza.attr.to = to;
		core_post_stanza(origin, stanza);
	end
	if share_text then text.made[stanza] = nil; end
	return true;
end

-- Priority 10: before the default handlers of these events (mod_presence swallows
-- presence/host, mod_announce looks at message/host), which run at priority 0 and below.
-- IQs are never multicast (XEP-0033 §3), so there is no iq/host hook.
module:hook("message/host", handle_multicast, 10);
module:hook("presence/host", handle_multicast, 10);

-- Checks of mod_parley_multicast's shared copy text with Prosody's own util.stanza, no
-- server: a fake `module` and `prosody` load the module, and each case runs a fan-out.
-- Usage: lua5.4 mod_parley_multicast_spec.lua MODULE_FILE CASE   (prints "ok CASE")
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
local st = require "util.stanza";
local module_file, case = arg[1], arg[2];
local xmlns_address = "http://jabber.org/protocol/address";

-- module:shared() tables, one per path for the whole process, as in Prosody.
local shared_tables = {};
local function shared_text() return shared_tables["/*/parley_multicast/text"] or {}; end

local function load_module(options)
	local hooks, env = {}, {};
	env.module = {
		host = "localhost";
		get_host_type = function() return "local"; end;
		get_option_set = function() return { contains = function(_, host) return host == "rooms.localhost"; end }; end;
		get_option_number = function(_, _, default) return default; end;
		get_option_boolean = function(_, name, default)
			if options[name] ~= nil then return options[name]; end
			return default;
		end;
		log = function() end;
		add_feature = function() end;
		hook = function(_, name, handler) hooks[name] = handler; end;
		shared = function(_, path)
			shared_tables[path] = shared_tables[path] or {};
			return shared_tables[path];
		end;
	};
	env.prosody = prosody;
	setmetatable(env, { __index = _G });
	assert(loadfile(module_file, "t", env))();
	return hooks, env.module;
end

local posted = {};
local on_post = function() end;
prosody = { core_post_stanza = function(origin, stanza) on_post(stanza); table.insert(posted, tostring(stanza)); end };

-- A resource may hold what XML must escape in an attribute.
local recipients = { "a@localhost/x", "b@localhost/'&<\"y\">", "c@example.org/z" };

local function fan_out(hooks)
	local message = st.message({ from = "room@rooms.localhost/N'ck", to = "localhost", type = "groupchat", id = "m1" });
	message:tag("addresses", { xmlns = xmlns_address });
	for _, jid in ipairs(recipients) do
		message:tag("address", { xmlns = xmlns_address, type = "bcc", jid = jid }):up();
	end
	message:up():text_tag("body", "<hi> & 'you'", { xmlns = "jabber:client" });
	message:tag("occupant-id", { xmlns = "urn:xmpp:occupant-id:0", id = "o1" }):up();
	posted = {};
	local origin = { type = "component", host = "rooms.localhost",
		send = function(reply) error("the module refused: "..tostring(reply)); end };
	hooks["message/host"]({ origin = origin, stanza = message });
	return message;
end

-- What Prosody itself writes for `stanza` sent to `to` (the same object: Lua's order of
-- its attributes is that object's own).
local function plain_text(stanza, to)
	local saved = stanza.attr.to;
	stanza.attr.to = to;
	local plain = shared_text().plain or st.stanza_mt.__tostring;
	local text = plain(stanza);
	stanza.attr.to = saved;
	return text;
end

local cases = {};

function cases.copies_are_what_prosody_writes()
	local hooks = load_module({});
	local message = fan_out(hooks);
	assert(#posted == #recipients, "one copy per address");
	for i, to in ipairs(recipients) do
		assert(posted[i] == plain_text(message, to), "copy "..i..": "..posted[i].." vs "..plain_text(message, to));
	end
	assert(not posted[1]:find("addresses"), "the address block is gone");
end

function cases.a_change_during_the_loop_shows_in_later_copies()
	local hooks = load_module({});
	on_post = function(stanza)
		if stanza.attr.to == recipients[2] then
			stanza.attr.id = "changed";
			stanza:tag("extra", { xmlns = "urn:test" }):up();
		end
	end;
	local message = fan_out(hooks);
	on_post = function() end;
	for i = 2, 3 do
		assert(posted[i] == plain_text(message, recipients[i]), "copy "..i..": "..posted[i]);
		assert(posted[i]:find("id='changed'") and posted[i]:find("<extra"), posted[i]);
	end
	message.attr.id = "m1";
	message:maptags(function (child) if child.name == "extra" then return nil; end return child; end);
	assert(posted[1] == plain_text(message, recipients[1]), "copy 1: "..posted[1]);
end

function cases.a_stanza_kept_after_the_loop_is_written_plainly()
	local hooks = load_module({});
	local message = fan_out(hooks);
	assert(next(shared_text().made) == nil, "nothing shared after the loop");
	message.attr.to = "later@localhost/r";
	assert(tostring(message) == shared_text().plain(message));
end

function cases.the_last_host_to_unload_restores_prosody()
	local plain = st.stanza_mt.__tostring;
	local _, first = load_module({});
	local hooks, second = load_module({});
	assert(st.stanza_mt.__tostring ~= plain, "patched");
	first.unload();
	assert(st.stanza_mt.__tostring ~= plain, "still patched while a host uses it");
	fan_out(hooks);
	assert(#posted == #recipients);
	second.unload();
	assert(st.stanza_mt.__tostring == plain and shared_text().plain == nil, "restored");
end

function cases.a_wrapper_installed_later_by_another_module_is_kept()
	local plain = st.stanza_mt.__tostring;
	local _, module = load_module({});
	local ours = st.stanza_mt.__tostring;
	local function theirs(t) return ours(t); end
	st.stanza_mt.__tostring = theirs;
	module.unload();
	assert(st.stanza_mt.__tostring == theirs, "another module's wrapper stays");
	assert(tostring(st.message({ to = "a@localhost" })) == plain(st.message({ to = "a@localhost" })));
end

function cases.the_option_turns_it_off()
	local plain = st.stanza_mt.__tostring;
	local hooks = load_module({ parley_multicast_shared_text = false });
	assert(st.stanza_mt.__tostring == plain and shared_text().plain == nil, "untouched");
	local message = fan_out(hooks);
	for i, to in ipairs(recipients) do assert(posted[i] == plain_text(message, to)); end
end

assert(cases[case], "unknown case "..tostring(case))();
print("ok "..case);

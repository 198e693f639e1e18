// Rules for user-supplied names and text, shared by REST and (later) WebSocket.
#pragma once

#include <string_view>

namespace parley::validate {

// True when text is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_utf8(std::string_view text) noexcept;

// Usernames: 3..32 bytes of [a-z0-9_.-], starting with a letter or digit.
// Throws Errc::bad_request naming the field otherwise.
void username(std::string_view field, std::string_view value);

// Display names and titles: valid UTF-8 with no control characters; the caller
// has already bounded the length. Throws Errc::bad_request.
void single_line_text(std::string_view field, std::string_view value);

// Message bodies: valid UTF-8; control characters other than \t \n \r refused.
void multi_line_text(std::string_view field, std::string_view value);

// Reactions: a :short_code: of [a-z0-9_+-] (e.g. ":tada:"), or one emoji
// sequence: emoji code points with their joiners (U+200D), variation
// selectors, skin tones, keycaps and tags; no letters, spaces or controls.
// The caller has already bounded the length. Throws Errc::bad_request.
void reaction(std::string_view field, std::string_view value);

}  // namespace parley::validate

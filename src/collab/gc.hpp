// Garbage collection of a document's merged state, for what is stored and
// sent: the content of a deleted item is replaced by its length (Yjs's
// ContentDeleted, as a garbage-collecting Y.Doc does), and runs of items one
// client typed in a row, deleted or visible alike, are joined into one, as
// a Y.Doc merges them after each transaction. Yjs's binary merge does
// neither (200 characters typed stay 200 items).
//
// Safe because nothing a peer can do depends on what is dropped: a deleted
// item's content is never shown again and never read; its id, length,
// origins and parent stay, so items that refer to it still integrate where
// they did. Kept as they are: items deleted only in part, and deleted types
// and subdocuments (their children refer to them; Yjs turns those children
// into GC structs, which needs the whole tree).
#pragma once

#include <string>
#include <string_view>

namespace parley::collab {

// The same document, smaller; equal to the input when there is nothing to
// collect. Error(bad_request) for malformed input.
std::string collect_garbage(std::string_view update);

}  // namespace parley::collab

/*
 * Protobuf helpers shared by the readers that walk the wire format
 * themselves (ONNX, TensorFlow SavedModel) and hand protobuf-c only small
 * messages: the wire-type rule their walks check first (protobuf-c decodes
 * a field whose wire type does not fit its declaration in ways that differ
 * from protobuf's), and protobuf-c's allocator over the reader's capped
 * arena. Here rather than in lib/core, which does not depend on protobuf-c.
 */
#ifndef MSI_FORMATS_PB_H
#define MSI_FORMATS_PB_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

#include "../core/arena.h"

/* protobuf-c allocating from `a`: what it decodes counts against the
 * arena's cap and is freed with it (its free does nothing). */
static inline ProtobufCAllocator msi_pb_arena_allocator(msi_arena *a)
{
	return (ProtobufCAllocator){ .alloc = msi_arena_pb_alloc, .free = msi_arena_pb_free, .allocator_data = a };
}

/* Whether wire type `wt` may carry the field `fd`: a scalar's own wire
 * type, or 2 for a packed repeated scalar; 2 for strings, bytes and
 * messages. Inline: the ONNX walk asks once per field. */
static inline bool msi_pb_wire_fits(const ProtobufCFieldDescriptor *fd, int wt)
{
	bool rep = fd->label == PROTOBUF_C_LABEL_REPEATED;
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
		return wt == 0 || (rep && wt == 2);
	case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
		return wt == 5 || (rep && wt == 2);
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return wt == 1 || (rep && wt == 2);
	default:
		return wt == 2;
	}
}

#endif

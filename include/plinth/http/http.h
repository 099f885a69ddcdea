// Umbrella header for the http module: messages, server, client, event-stream and SSE.
#pragma once

#include "plinth/http/client.h"
#include "plinth/http/event_stream.h"
#include "plinth/http/message.h"
#include "plinth/http/server.h"
#include "plinth/http/sse.h"

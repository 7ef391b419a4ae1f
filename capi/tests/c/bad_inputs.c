/* The header compiled as C99 and linked with the static library: a C program calls the C ABI
 * with bad inputs and checks each result code and message. Run by tests/c_compile.rs. */

#include <stdio.h>
#include <string.h>

#include "logi_plugin.h"

static int failures = 0;

static void expect(const char *what, int32_t got, int32_t code, const char *message) {
    const char *error = logi_last_error();
    if (got != code || strcmp(error, message) != 0) {
        fprintf(stderr, "%s: got %d \"%s\", expected %d \"%s\"\n", what, got, error, code, message);
        failures++;
    }
}

int main(void) {
    logi_plugin_client *client = NULL;
    expect("a null plugin id",
           logi_plugin_client_new(NULL, "1.0.0", "code", &client),
           LOGI_INVALID_ARG, "plugin_id is null");
    expect("a plugin client",
           logi_plugin_client_new("com.example.c", "1.0.0", "code", &client),
           LOGI_SUCCESS, "");

    const uint8_t truncated[] = {0x0a, 0x05, 'x'};
    expect("an unknown type name",
           logi_plugin_client_send_message(client, "logi.plugin.protocol.Nothing", NULL, 0),
           LOGI_NOT_IMPLEMENTED, "bytes: unknown message type URL \"logi.plugin.protocol.Nothing\"");
    expect("null bytes with a length",
           logi_plugin_client_send_message(client, "logi.plugin.protocol.ActionCellStatus", NULL, 3),
           LOGI_INVALID_ARG, "bytes is null but its length is 3");
    int32_t code = logi_plugin_client_send_message(
        client, "logi.plugin.protocol.ActionCellStatus", truncated, sizeof truncated);
    if (code != LOGI_INVALID_ARG) {
        fprintf(stderr, "truncated bytes: got %d \"%s\"\n", code, logi_last_error());
        failures++;
    }
    expect("sending before connecting",
           logi_plugin_client_send_ok_response(client, 1),
           LOGI_NOT_READY, "the client is not connected: call logi_plugin_client_connect first");
    const char *controls[] = {"volume"};
    const char *keys[] = {"sideways"};
    expect("an unknown buffer key",
           logi_plugin_client_enable_control_buffering(client, controls, keys, 1),
           LOGI_INVALID_ARG,
           "buffer_keys: control \"volume\" is registered to buffer \"sideways\", which does not exist");
    if (logi_plugin_client_is_connected(client)) {
        fprintf(stderr, "connected without connecting\n");
        failures++;
    }
    logi_plugin_client_free(client);
    logi_plugin_client_free(NULL);

    logi_bytes none = {NULL, 0};
    logi_bytes_free(none);
    expect("a null out-parameter",
           logi_load_secret("Counter", "token", NULL), LOGI_INVALID_ARG, "out_value is null");
    expect("a file URL",
           logi_open_url("file:///etc/passwd"), LOGI_INVALID_ARG,
           "url: refusing to open \"file:///etc/passwd\": only http:// and https:// URLs are opened");

    if (failures == 0) {
        printf("all bad inputs refused\n");
    }
    return failures == 0 ? 0 : 1;
}

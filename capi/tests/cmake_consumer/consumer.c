/* A C program built against the installed package (the shared library through
 * `logi_plugin::logi_plugin_shared`, or the flags of `pkg-config logi_plugin`). */
#include <stdio.h>

#include "logi_plugin.h"

int main(void) {
    logi_plugin_client *client = NULL;
    int32_t code = logi_plugin_client_new(NULL, "1.0.0", "code", &client);
    if (code != LOGI_INVALID_ARG) {
        fprintf(stderr, "a null plugin id gave %d: %s\n", code, logi_last_error());
        logi_plugin_client_free(client);
        return 1;
    }
    printf("LOGI_INVALID_ARG: %s\n", logi_last_error());
    return 0;
}

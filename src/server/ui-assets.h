/*
 * The dashboard's files (web/), compiled into ward-server so that it
 * serves them with no files to install and no network: the build writes
 * the table with scripts/embed-assets.py. They are served at /ui/NAME.
 */
#ifndef WARD_UI_ASSETS_H
#define WARD_UI_ASSETS_H

#include <stddef.h>

struct ward_ui_asset {
    const char *name; /* base name: "app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag; /* quoted */
};

extern const struct ward_ui_asset ward_ui_assets[];
extern const size_t ward_ui_n_assets;

#endif

/* jpki xml: XML signatures (cmd_xml.c). */
#ifndef JPKI_CMD_XML_H
#define JPKI_CMD_XML_H

#include "cli.h"

int cmd_xml(cli_ctx *ctx, int argc, char **argv);

#endif

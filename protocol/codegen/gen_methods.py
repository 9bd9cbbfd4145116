#!/usr/bin/env python3
"""Generate Warren's AMQP 0-9-1 method codec (protocol/methods.{h,c}).

Reads the machine-readable spec (amqp-rabbitmq-0.9.1.json) for constants,
domains, classes, methods, arguments and content properties, and the
extended stripped XML beside it for `chassis` (who may receive a method).
Also writes tests/methods_samples.inc, sample arguments with their expected
wire bytes for methods_test.cc. The output is deterministic: the same inputs
always give the same bytes, so CI can regenerate and fail on a diff.

usage: gen_methods.py SPEC_JSON [--xml XML] [--out-dir DIR] [--check]

SPEC_JSON  path to amqp-rabbitmq-0.9.1.json
--xml      amqp0-9-1.stripped.extended.xml (default: next to SPEC_JSON)
--out-dir  the protocol/ directory to write into (default: the one this
           script lives in)
--check    write nothing; exit 1 if the files on disk differ from the output
"""

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET

SCRIPT = "protocol/codegen/gen_methods.py"

# Primitive AMQP types: C type, cursor getter (None for bits), wbuf putter.
TYPES = {
    "octet": ("uint8_t", "wrn_get_u8", "wrn_put_u8"),
    "short": ("uint16_t", "wrn_get_u16", "wrn_put_u16"),
    "long": ("uint32_t", "wrn_get_u32", "wrn_put_u32"),
    "longlong": ("uint64_t", "wrn_get_u64", "wrn_put_u64"),
    "timestamp": ("uint64_t", "wrn_get_u64", "wrn_put_u64"),
    "shortstr": ("struct wrn_slice", "wrn_get_shortstr", "wrn_put_shortstr"),
    "longstr": ("struct wrn_slice", "wrn_get_longstr", "wrn_put_longstr"),
    # A table travels as a longstr whose contents must validate.
    "table": ("struct wrn_slice", "get_table", "wrn_put_longstr"),
    "bit": ("bool", None, None),
}

# The legacy access class is in the JSON but not in the 0-9-1 XML, so it has
# no chassis there. RabbitMQ still answers access.request (with ticket 1), so
# the server receives request and the client receives request-ok.
CHASSIS_OVERRIDES = {
    ("access", "request"): {"server"},
    ("access", "request-ok"): {"client"},
}

# Identifiers a generated name must not collide with in C or C++.
RESERVED = {
    "auto", "bool", "break", "case", "char", "class", "const", "continue",
    "default", "delete", "do", "double", "else", "enum", "explicit", "extern",
    "false", "float", "for", "friend", "goto", "if", "inline", "int", "long",
    "mutable", "namespace", "new", "operator", "private", "protected",
    "public", "register", "restrict", "return", "short", "signed", "sizeof",
    "static", "struct", "switch", "template", "this", "throw", "true", "try",
    "typedef", "typename", "union", "unsigned", "using", "virtual", "void",
    "volatile", "while",
}


def fail(msg):
    sys.stderr.write("gen_methods.py: %s\n" % msg)
    sys.exit(2)


def c_name(name):
    return name.replace("-", "_").replace(".", "_")


def field_name(name):
    """A struct member named after a spec argument or property."""
    ident = c_name(name)
    if ident in RESERVED:
        fail("spec name %r is a C/C++ keyword" % name)
    return ident


def macro(name):
    return name.replace("-", "_").replace(".", "_").upper()


class Arg:
    def __init__(self, name, amqp_type):
        self.name = name
        self.field = field_name(name)
        self.type = amqp_type
        self.ctype = TYPES[amqp_type][0]


class Method:
    def __init__(self, cls, raw, domains):
        self.cls = cls
        self.name = raw["name"]
        self.index = raw["id"]
        self.id = (cls.id << 16) | self.index
        self.synchronous = bool(raw.get("synchronous", False))
        self.content = bool(raw.get("content", False))
        self.member = "%s_%s" % (c_name(cls.name), c_name(self.name))
        self.struct = "wrn_" + self.member
        self.macro = "WRN_%s_%s" % (macro(cls.name), macro(self.name))
        self.full_name = "%s.%s" % (cls.name, self.name)
        self.chassis = set()
        self.args = []
        for a in raw["arguments"]:
            if "type" in a:
                t = a["type"]
            elif a.get("domain") in domains:
                t = domains[a["domain"]]
            else:
                fail("%s: argument %s has no type" % (self.full_name, a["name"]))
            if t not in TYPES:
                fail("%s: unknown type %r" % (self.full_name, t))
            self.args.append(Arg(a["name"], t))


class Class:
    def __init__(self, raw, domains):
        self.name = raw["name"]
        self.id = raw["id"]
        self.macro = "WRN_CLASS_" + macro(self.name)
        self.methods = sorted((Method(self, m, domains) for m in raw["methods"]),
                              key=lambda m: m.index)
        self.properties = []
        for p in raw.get("properties", []):
            t = p.get("type") or domains.get(p.get("domain"))
            if t not in TYPES or t == "bit":
                fail("%s: property %s has unsupported type %r" % (self.name, p["name"], t))
            self.properties.append(Arg(p["name"], t))


def load(json_path, xml_path):
    with open(json_path, encoding="utf-8") as f:
        spec = json.load(f)
    domains = {}
    for name, t in spec["domains"]:
        domains[name] = t
    classes = sorted((Class(c, domains) for c in spec["classes"]), key=lambda c: c.id)

    # chassis from the XML; also a consistency check of the ids.
    root = ET.parse(xml_path).getroot()
    xml_methods = {}
    for xc in root.findall("class"):
        for xm in xc.findall("method"):
            xml_methods[(xc.get("name"), xm.get("name"))] = (
                int(xc.get("index")), int(xm.get("index")),
                {ch.get("name") for ch in xm.findall("chassis")})
    for c in classes:
        for m in c.methods:
            key = (c.name, m.name)
            if key in CHASSIS_OVERRIDES:
                m.chassis = CHASSIS_OVERRIDES[key]
            elif key in xml_methods:
                ci, mi, chassis = xml_methods[key]
                if (ci, mi) != (c.id, m.index):
                    fail("%s: ids differ between JSON (%d,%d) and XML (%d,%d)"
                         % (m.full_name, c.id, m.index, ci, mi))
                m.chassis = chassis
            else:
                fail("%s is not in the XML and has no chassis override" % m.full_name)

    copyright_lines = [l.rstrip() for l in spec["copyright"]]
    return spec, classes, copyright_lines


def banner(copyright_lines):
    """Banner: the generated-file notice, then the spec's MIT notice."""
    out = ["/*",
           " * Generated by %s from amqp-rabbitmq-0.9.1.json - do not edit." % SCRIPT,
           " *",
           " * The spec data it was generated from carries this notice:",
           " *"]
    # The MIT notice ends with "OTHER DEALINGS IN THE SOFTWARE."; what follows
    # in the JSON is provenance of the 0-8 PDFs, not license text.
    for line in copyright_lines:
        out.append((" * " + line).rstrip())
        if "OTHER DEALINGS IN THE SOFTWARE" in line:
            break
    out.append(" */")
    return out


COLUMNS = 100  # the project's clang-format column limit


def align_comments(rows):
    """Lines of (code, comment or None), trailing comments aligned per run
    of consecutive commented lines, as clang-format does."""
    out = []
    i = 0
    while i < len(rows):
        if rows[i][1] is None:
            out.append(rows[i][0])
            i += 1
            continue
        j = i
        while j < len(rows) and rows[j][1] is not None:
            j += 1
        width = max(len(code) for code, _ in rows[i:j])
        for code, comment in rows[i:j]:
            out.append("%s /* %s */" % (code.ljust(width), comment))
        i = j
    return out


def wrap_params(head, params, tail):
    """A declaration on one line if it fits, else with parameters aligned
    after the opening parenthesis."""
    line = head + ", ".join(params) + tail
    if len(line) <= COLUMNS:
        return [line]
    pad = " " * len(head)
    lines = [head + params[0]]
    for i, p in enumerate(params[1:], 1):
        end = tail if i == len(params) - 1 else ","
        if len(lines[-1]) + 2 + len(p) + len(end) > COLUMNS:
            lines[-1] += ","
            lines.append(pad + p)
        else:
            lines[-1] += ", " + p
    lines[-1] += tail
    return lines


def bit_groups(args):
    """Yield ('bits', [args]) for each packed octet and ('one', arg) otherwise."""
    group = []
    for a in args:
        if a.type == "bit":
            group.append(a)
            if len(group) == 8:
                yield ("bits", group)
                group = []
            continue
        if group:
            yield ("bits", group)
            group = []
        yield ("one", a)
    if group:
        yield ("bits", group)


def flags_of(m):
    parts = []
    if m.synchronous:
        parts.append("INFO_SYNCHRONOUS")
    if m.content:
        parts.append("INFO_CONTENT")
    if "server" in m.chassis:
        parts.append("INFO_SERVER")
    if "client" in m.chassis:
        parts.append("INFO_CLIENT")
    return " | ".join(parts) if parts else "0"


def reply_codes(spec):
    """Constants that are reply codes: those with an error class, and REPLY-SUCCESS."""
    return [c for c in spec["constants"] if "class" in c or c["name"].startswith("REPLY-")]


def gen_header(spec, classes, copyright_lines):
    o = banner(copyright_lines)
    o += ["",
          "/*",
          " * methods.h - AMQP 0-9-1 constants, class and method ids, one argument",
          " * struct per method, the method codec, the basic content properties and",
          " * the reply-code table. Decoded slices point into the decoded buffer.",
          " */",
          "#ifndef WRN_METHODS_H",
          "#define WRN_METHODS_H",
          "",
          '#include "wire.h"',
          "",
          "#ifdef __cplusplus",
          'extern "C" {',
          "#endif",
          "",
          "/* Constants: frame types and sizes, reply codes. */"]
    names = set()

    def claim(name):
        if name in names:
            fail("duplicate macro %s" % name)
        names.add(name)

    def define(name, value, comment=None):
        claim(name)
        line = "#define %s %s" % (name, value)
        if comment:
            line += " /* %s */" % comment
        o.append(line)

    consts = []
    for c in spec["constants"]:
        claim("WRN_" + macro(c["name"]))
        consts.append(("#define WRN_%s %s" % (macro(c["name"]), c["value"]), c.get("class")))
    o += align_comments(consts)

    o += ["", "/* Class ids. */"]
    for c in classes:
        define(c.macro, c.id)

    o += ["",
          "/* Method ids: class id << 16 | method id. */",
          "#define WRN_METHOD_ID(class_id, index) "
          "((uint32_t)(class_id) << 16 | (uint32_t)(index))",
          "#define WRN_METHOD_CLASS(id) ((uint16_t)((id) >> 16))",
          "#define WRN_METHOD_INDEX(id) ((uint16_t)((id)&0xFFFF))",
          ""]
    for c in classes:
        for m in c.methods:
            define(m.macro, "0x%08XU" % m.id)

    o += ["",
          "/*",
          " * Argument structs, fields in wire order. shortstr, longstr and table",
          " * arguments are slices; a table slice holds the encoded fields without",
          " * the 4-byte length prefix (read it with table.h).",
          " */"]
    for c in classes:
        for m in c.methods:
            traits = []
            if m.synchronous:
                traits.append("synchronous")
            if m.content:
                traits.append("carries content")
            who = sorted(m.chassis)
            traits.append("received by " + " and ".join(who))
            o.append("/* %s (%d, %d): %s */" % (m.full_name, c.id, m.index, ", ".join(traits)))
            o.append("struct %s {" % m.struct)
            if not m.args:
                o.append("    char unused_; /* no arguments */")
            for a in m.args:
                o.append("    %s %s;" % (a.ctype, a.field))
            o += ["};", ""]

    o.append("struct wrn_method {")
    o.append("    uint32_t id; /* WRN_<CLASS>_<METHOD> */")
    o.append("    union {")
    for c in classes:
        for m in c.methods:
            o.append("        struct %s %s;" % (m.struct, m.member))
    o += ["    } a;", "};", ""]

    o += ["/*",
          " * Decode a method frame payload (class id, method id, arguments) into *m.",
          " * Slices point into p. Returns WRN_OK, WRN_EUNKNOWN for an unknown",
          " * class/method pair (m->id is still set), or WRN_EPROTO if p is truncated",
          " * or a table is malformed, or bytes follow the last argument (RabbitMQ",
          " * answers all of these with 501 FRAME_ERROR).",
          " */",
          "int wrn_method_decode(const uint8_t *p, size_t len, struct wrn_method *m);",
          "",
          "/*",
          " * Encode class id, method id and arguments (no frame header) into out.",
          " * Returns the length, WRN_ENOSPC if cap is too small or WRN_EUNKNOWN for",
          " * an unknown id. A shortstr longer than 255 bytes is cut to 255; a table",
          " * is written as a u32 length and the slice bytes, unchecked.",
          " */",
          "int wrn_method_encode(const struct wrn_method *m, uint8_t *out, size_t cap);",
          "",
          '/* "basic.publish"; "unknown" for an id not in the spec. */',
          "const char *wrn_method_name(uint32_t id);",
          "bool wrn_method_known(uint32_t id);",
          "/* The spec's synchronous flag: the method expects a reply method. */",
          "bool wrn_method_synchronous(uint32_t id);",
          "/* A content header and body frames follow the method. */",
          "bool wrn_method_has_content(uint32_t id);",
          "/* The spec lets a client send it (chassis server). */",
          "bool wrn_method_server_receives(uint32_t id);",
          "/* The spec lets a server send it (chassis client). */",
          "bool wrn_method_client_receives(uint32_t id);",
          "",
          "/* Reply codes: 404 -> \"NOT_FOUND\"; NULL for a code not in the spec. */",
          "const char *wrn_reply_name(uint16_t code);",
          "/* Hard errors close the connection, soft errors only the channel. */",
          "bool wrn_reply_is_hard(uint16_t code);",
          "bool wrn_reply_is_soft(uint16_t code);",
          ""]

    for c in classes:
        if not c.properties:
            continue
        n = len(c.properties)
        if n > 15:
            fail("%s: more than one flag word of properties is not supported" % c.name)
        cm = macro(c.name)
        o += ["/*",
              " * %s content properties, in wire order. The first property is bit 15" % c.name,
              " * of the first flag word; bit 0 says another flag word follows.",
              " */"]
        for i, p in enumerate(c.properties):
            define("WRN_%s_%s_FLAG" % (cm, macro(p.name)), "(1u << %d)" % (15 - i))
        mask = sum(1 << (15 - i) for i in range(n))
        define("WRN_%s_PROPERTY_FLAGS" % cm, "0x%04Xu" % mask, "all of the above")
        o += ["", "struct wrn_%s_properties {" % c_name(c.name),
              "    uint16_t flags; /* which properties are present */"]
        for p in c.properties:
            o.append("    %s %s;" % (p.ctype, p.field))
        o += ["};", "",
              "/*",
              " * Decode a properties block; p points at the first flag word. Further",
              " * flag words are skipped, absent properties are zero or empty, flags",
              " * keeps only the property bits. Returns WRN_OK or WRN_EPROTO (the",
              " * headers table is validated).",
              " */",
              ]
        o += wrap_params("int wrn_%s_properties_decode(" % c_name(c.name),
                         ["const uint8_t *p", "size_t len",
                          "struct wrn_%s_properties *out" % c_name(c.name)], ");")
        o.append("/* Encode the properties set in in->flags. "
                 "Returns the length or WRN_ENOSPC. */")
        o += wrap_params("int wrn_%s_properties_encode(" % c_name(c.name),
                         ["const struct wrn_%s_properties *in" % c_name(c.name),
                          "uint8_t *out", "size_t cap"], ");")
        o.append("")

    o += ["#ifdef __cplusplus",
          "}",
          "#endif",
          "",
          "#endif /* WRN_METHODS_H */"]
    return "\n".join(o) + "\n"


def gen_decode_fn(m):
    o = ["/* %s */" % m.full_name,
         "static int",
         "decode_%s(struct wrn_cursor *c, struct %s *a)" % (m.member, m.struct),
         "{"]
    has_bits = any(a.type == "bit" for a in m.args)
    if has_bits:
        o += ["    uint8_t bits;", ""]
    for kind, item in bit_groups(m.args):
        if kind == "bits":
            o += ["    if (!wrn_get_u8(c, &bits))", "        return WRN_EPROTO;"]
            for i, a in enumerate(item):
                o.append("    a->%s = (bits & 0x%02X) != 0;" % (a.field, 1 << i))
        else:
            getter = TYPES[item.type][1]
            o += ["    if (!%s(c, &a->%s))" % (getter, item.field), "        return WRN_EPROTO;"]
    # RabbitMQ refuses arguments followed by stray bytes (501 FRAME_ERROR).
    o += ["    return wrn_cursor_left(c) == 0 ? WRN_OK : WRN_EPROTO;", "}", ""]
    return o


def gen_encode_fn(m):
    o = ["static void",
         "encode_%s(struct wrn_wbuf *w, const struct %s *a)" % (m.member, m.struct),
         "{"]
    has_bits = any(a.type == "bit" for a in m.args)
    if has_bits:
        o += ["    uint8_t bits;", ""]
    for kind, item in bit_groups(m.args):
        if kind == "bits":
            o.append("    bits = 0;")
            for i, a in enumerate(item):
                o += ["    if (a->%s)" % a.field, "        bits |= 0x%02X;" % (1 << i)]
            o.append("    wrn_put_u8(w, bits);")
        else:
            putter = TYPES[item.type][2]
            o.append("    %s(w, a->%s);" % (putter, item.field))
    o += ["}", ""]
    return o


def gen_properties(c):
    n = c_name(c.name)
    cm = macro(c.name)
    o = ["int",
         "wrn_%s_properties_decode(const uint8_t *p, size_t len, struct wrn_%s_properties *out)"
         % (n, n),
         "{",
         "    struct wrn_cursor c;",
         "    uint16_t word;",
         "",
         "    memset(out, 0, sizeof(*out));",
         "    cursor_init(&c, p, len);",
         "    if (!wrn_get_u16(&c, &word))",
         "        return WRN_EPROTO;",
         "    out->flags = word & WRN_%s_PROPERTY_FLAGS;" % cm,
         "    /* Bit 0 chains another flag word. None is needed here: skip them. */",
         "    while (word & 1) {",
         "        if (!wrn_get_u16(&c, &word))",
         "            return WRN_EPROTO;",
         "    }"]
    for p in c.properties:
        flag = "WRN_%s_%s_FLAG" % (cm, macro(p.name))
        getter = TYPES[p.type][1]
        cond = ["(out->flags & %s) &&" % flag, "!%s(&c, &out->%s)" % (getter, p.field)]
        line = "    if (%s %s)" % tuple(cond)
        if len(line) <= COLUMNS:
            o.append(line)
        else:
            o += ["    if (%s" % cond[0], "        %s)" % cond[1]]
        o.append("        return WRN_EPROTO;")
    o += ["    return WRN_OK;", "}", "",
          "int",
          "wrn_%s_properties_encode(const struct wrn_%s_properties *in, uint8_t *out, size_t cap)"
          % (n, n),
          "{",
          "    struct wrn_wbuf w;",
          "",
          "    wrn_wbuf_init(&w, out, cap);",
          "    wrn_put_u16(&w, in->flags & WRN_%s_PROPERTY_FLAGS);" % cm]
    for p in c.properties:
        flag = "WRN_%s_%s_FLAG" % (cm, macro(p.name))
        putter = TYPES[p.type][2]
        o += ["    if (in->flags & %s)" % flag,
              "        %s(&w, in->%s);" % (putter, p.field)]
    o += ["    return finish(&w);", "}", ""]
    return o


def gen_source(spec, classes, copyright_lines):
    methods = [m for c in classes for m in c.methods]
    o = banner(copyright_lines)
    o += ["",
          "/*",
          " * methods.c - the generated AMQP 0-9-1 method codec: one decoder and one",
          " * encoder per method, method traits, reply codes and content properties.",
          " * Decoding allocates nothing; slices point into the input.",
          " */",
          "#include \"methods.h\"",
          "",
          "#include <limits.h>",
          "",
          "#include \"table.h\"",
          "",
          "/*",
          " * An empty input may arrive as a NULL pointer, and NULL + 0 is undefined",
          " * in C, so an empty cursor points at a static byte instead.",
          " */",
          "static void",
          "cursor_init(struct wrn_cursor *c, const uint8_t *p, size_t len)",
          "{",
          "    static const uint8_t empty[1];",
          "",
          "    wrn_cursor_init(c, len > 0 ? p : empty, len);",
          "}",
          "",
          "/* A table argument: a longstr whose contents must be a valid field table. */",
          "static bool",
          "get_table(struct wrn_cursor *c, struct wrn_slice *s)",
          "{",
          "    return wrn_get_longstr(c, s) && wrn_table_validate(*s) == WRN_OK;",
          "}",
          "",
          "/* The written length, or WRN_ENOSPC if anything did not fit. */",
          "static int",
          "finish(const struct wrn_wbuf *w)",
          "{",
          "    if (w->overflow || w->len > INT_MAX)",
          "        return WRN_ENOSPC;",
          "    return (int)w->len;",
          "}",
          ""]
    for m in methods:
        if m.args:
            o += gen_decode_fn(m)
            o += gen_encode_fn(m)

    # decode dispatch
    o += ["int",
          "wrn_method_decode(const uint8_t *p, size_t len, struct wrn_method *m)",
          "{",
          "    struct wrn_cursor c;",
          "    uint16_t class_id, method_index;",
          "",
          "    cursor_init(&c, p, len);",
          "    memset(m, 0, sizeof(*m));",
          "    if (!wrn_get_u16(&c, &class_id) || !wrn_get_u16(&c, &method_index))",
          "        return WRN_EPROTO;",
          "    m->id = WRN_METHOD_ID(class_id, method_index);",
          "    switch (m->id) {"]
    for m in methods:
        if m.args:
            o += ["    case %s:" % m.macro,
                  "        return decode_%s(&c, &m->a.%s);" % (m.member, m.member)]
    for m in methods:
        if not m.args:
            o.append("    case %s:" % m.macro)
    o += ["        return wrn_cursor_left(&c) == 0 ? WRN_OK : WRN_EPROTO;",
          "    default:",
          "        return WRN_EUNKNOWN;",
          "    }",
          "}",
          ""]

    # encode dispatch
    o += ["int",
          "wrn_method_encode(const struct wrn_method *m, uint8_t *out, size_t cap)",
          "{",
          "    struct wrn_wbuf w;",
          "",
          "    if (!wrn_method_known(m->id))",
          "        return WRN_EUNKNOWN;",
          "    wrn_wbuf_init(&w, out, cap);",
          "    wrn_put_u16(&w, WRN_METHOD_CLASS(m->id));",
          "    wrn_put_u16(&w, WRN_METHOD_INDEX(m->id));",
          "    switch (m->id) {"]
    for m in methods:
        if m.args:
            o += ["    case %s:" % m.macro,
                  "        encode_%s(&w, &m->a.%s);" % (m.member, m.member),
                  "        break;"]
    o += ["    default:",
          "        break; /* no arguments */",
          "    }",
          "    return finish(&w);",
          "}",
          ""]

    # method traits
    o += ["#define INFO_SYNCHRONOUS 0x01",
          "#define INFO_CONTENT 0x02",
          "#define INFO_SERVER 0x04 /* chassis server: a client may send it */",
          "#define INFO_CLIENT 0x08 /* chassis client: a server may send it */",
          "",
          "struct method_info {",
          "    const char *name;",
          "    uint8_t flags;",
          "};",
          "",
          "static const struct method_info method_info[] = {"]
    for m in methods:
        o.append('    {"%s", %s},' % (m.full_name, flags_of(m)))
    o += ["};",
          "",
          "/* The trait entry of id, or NULL. A switch keeps the lookup O(1). */",
          "static const struct method_info *",
          "method_info_find(uint32_t id)",
          "{",
          "    switch (id) {"]
    for i, m in enumerate(methods):
        o += ["    case %s:" % m.macro, "        return &method_info[%d];" % i]
    o += ["    default:",
          "        return NULL;",
          "    }",
          "}",
          ""]
    for fn, expr in [("name", None),
                     ("known", "info != NULL"),
                     ("synchronous", "info != NULL && (info->flags & INFO_SYNCHRONOUS)"),
                     ("has_content", "info != NULL && (info->flags & INFO_CONTENT)"),
                     ("server_receives", "info != NULL && (info->flags & INFO_SERVER)"),
                     ("client_receives", "info != NULL && (info->flags & INFO_CLIENT)")]:
        if fn == "name":
            o += ["const char *",
                  "wrn_method_name(uint32_t id)",
                  "{",
                  "    const struct method_info *info = method_info_find(id);",
                  "",
                  '    return info != NULL ? info->name : "unknown";',
                  "}",
                  ""]
        else:
            o += ["bool",
                  "wrn_method_%s(uint32_t id)" % fn,
                  "{",
                  "    const struct method_info *info = method_info_find(id);",
                  "",
                  "    return %s;" % expr,
                  "}",
                  ""]

    # reply codes
    codes = reply_codes(spec)
    o += ["const char *",
          "wrn_reply_name(uint16_t code)",
          "{",
          "    switch (code) {"]
    for c in codes:
        o += ["    case WRN_%s:" % macro(c["name"]),
              '        return "%s";' % macro(c["name"])]
    o += ["    default:", "        return NULL;", "    }", "}", ""]
    for kind in ("hard", "soft"):
        o += ["bool",
              "wrn_reply_is_%s(uint16_t code)" % kind,
              "{",
              "    switch (code) {"]
        for c in codes:
            if c.get("class") == kind + "-error":
                o.append("    case WRN_%s:" % macro(c["name"]))
        o += ["        return true;", "    default:", "        return false;", "    }", "}", ""]

    for c in classes:
        if c.properties:
            o += gen_properties(c)

    while o and o[-1] == "":
        o.pop()
    return "\n".join(o) + "\n"

# --- Test samples ---------------------------------------------------------
#
# tests/methods_samples.inc gives every method two sets of argument values
# and the bytes they must encode to. The bytes are computed here, by a
# packer written independently of the generated C, so a C codec that
# disagrees with the spec's argument order, widths or bit packing fails the
# round-trip test rather than agreeing with itself.

SAMPLE_TABLE = (b"\x03key" b"S" b"\x00\x00\x00\x05value"   # key: S "value"
                b"\x01n" b"I" b"\xff\xff\xff\xfb")         # n: I -5
WIDTHS = {"octet": 1, "short": 2, "long": 4, "longlong": 8, "timestamp": 8}


def sample_value(m, i, arg, variant):
    """A deterministic value for argument i of m; variant 0 and 1 differ in
    every field (bits are complements) and variant 1 sets high bits."""
    t = arg.type
    if t == "bit":
        return (i % 2 == 0) == (variant == 0)
    if t in WIDTHS:
        bits = 8 * WIDTHS[t]
        h = (m.id * 2654435761 + (i + 1) * 40503 + variant * 7777777) % (1 << bits)
        if variant == 1:
            h |= 1 << (bits - 1)
        else:
            h &= (1 << (bits - 1)) - 1
        return h or 1
    if t == "shortstr":
        text = ("%s/%s" % (m.full_name, arg.name)).encode()
        if variant == 1:  # the longest shortstr there is
            text = (text + b"#" * 255)[:255]
        return text
    if t == "longstr":
        return b"\x00long\xff" + m.full_name.encode() if variant == 0 else b""
    if t == "table":
        return SAMPLE_TABLE if variant == 0 else b""
    raise AssertionError(t)


def pack_sample(m, values):
    out = bytearray()
    out += m.cls.id.to_bytes(2, "big") + m.index.to_bytes(2, "big")
    for kind, item in bit_groups(m.args):
        if kind == "bits":
            octet = 0
            for n, a in enumerate(item):
                if values[a.name]:
                    octet |= 1 << n
            out.append(octet)
            continue
        v = values[item.name]
        if item.type in WIDTHS:
            out += v.to_bytes(WIDTHS[item.type], "big")
        elif item.type == "shortstr":
            out += bytes([len(v)]) + v
        else:  # longstr, table
            out += len(v).to_bytes(4, "big") + v
    return bytes(out)


def c_string(data, width=64):
    """data as C string literal pieces: printable ASCII as is, other bytes as
    hex escapes (a literal is split where a digit would extend an escape)."""
    pieces, cur, escaped = [], "", False
    for b in data:
        ch = chr(b)
        if 32 <= b < 127 and ch not in "\\\"?":
            tok = ch
            if escaped and ch in "0123456789abcdefABCDEF":
                pieces.append(cur)
                cur = ""
            escaped = False
        else:
            tok, escaped = "\\x%02x" % b, True
        if len(cur) + len(tok) > width:
            pieces.append(cur)
            cur = ""
        cur += tok
    if cur or not pieces:
        pieces.append(cur)
    return ['"%s"' % p for p in pieces]


def c_hex(data):
    """data as C string literal pieces of 16 hex-escaped bytes each."""
    return ['"%s"' % "".join("\\x%02x" % b for b in data[i:i + 16])
            for i in range(0, len(data), 16)] or ['""']


def gen_samples(classes, copyright_lines):
    o = banner(copyright_lines)
    o += ["",
          "/*",
          " * methods_samples.inc - two samples per method for methods_test.cc:",
          " * SAMPLE(index, method id, union member, fields, WIRE(bytes, length)).",
          " * fields is a run of F_INT(member, value), F_BIT(member, value) and",
          " * F_STR(member, bytes, length); the includer defines all five macros.",
          " */"]
    n = 0
    for c in classes:
        for m in c.methods:
            for variant in (0, 1):
                values = {a.name: sample_value(m, i, a, variant) for i, a in enumerate(m.args)}
                o.append("SAMPLE(%d, %s, %s," % (n, m.macro, m.member))
                for a in m.args:
                    v = values[a.name]
                    if a.type == "bit":
                        o.append("       F_BIT(%s, %s)" % (a.field, "true" if v else "false"))
                    elif a.type in WIDTHS:
                        suffix = "ULL" if WIDTHS[a.type] == 8 else "U"
                        o.append("       F_INT(%s, 0x%X%s)" % (a.field, v, suffix))
                    else:
                        lit = c_string(v)
                        o.append("       F_STR(%s, %s" % (a.field, lit[0]))
                        for piece in lit[1:]:
                            o.append("             %s" % piece)
                        o[-1] += ", %d)" % len(v)
                if m.args:
                    o[-1] += ","
                else:
                    o[-1] += " /* no arguments */,"
                wire = pack_sample(m, values)
                lit = c_hex(wire)
                o.append("       WIRE(%s" % lit[0])
                for piece in lit[1:]:
                    o.append("            %s" % piece)
                o[-1] += ", %d))" % len(wire)
                n += 1
    o.append("#define SAMPLE_COUNT %d" % n)
    return "\n".join(o) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="Generate protocol/methods.{h,c}")
    ap.add_argument("spec_json")
    ap.add_argument("--xml")
    ap.add_argument("--out-dir", default=os.path.dirname(here))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    xml_path = args.xml or os.path.join(os.path.dirname(args.spec_json),
                                        "amqp0-9-1.stripped.extended.xml")
    spec, classes, copyright_lines = load(args.spec_json, xml_path)
    outputs = {
        "methods.h": gen_header(spec, classes, copyright_lines),
        "methods.c": gen_source(spec, classes, copyright_lines),
        os.path.join("tests", "methods_samples.inc"): gen_samples(classes, copyright_lines),
    }
    stale = []
    for name, text in sorted(outputs.items()):
        path = os.path.join(args.out_dir, name)
        try:
            with open(path, encoding="utf-8") as f:
                old = f.read()
        except FileNotFoundError:
            old = None
        if old == text:
            continue
        stale.append(name)
        if not args.check:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
    if args.check and stale:
        sys.stderr.write("gen_methods.py: out of date: %s\n" % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

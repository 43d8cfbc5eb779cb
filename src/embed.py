#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Embed a text file as a C string (build step): embed.py INPUT OUTPUT SYMBOL
import sys

src, dst, sym = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as out:
    out.write('/* generated from %s; do not edit */\n' % src.rsplit('/', 1)[-1])
    out.write('#include <stddef.h>\n')
    out.write('extern const char %s[];\nextern const size_t %s_len;\n' % (sym, sym))
    out.write('const char %s[] =\n' % sym)
    for line in data.split(b'\n'):
        esc = ''.join(c if 32 <= ord(c) < 127 and c not in '"\\?' else '\\%03o' % ord(c)
                      for c in line.decode('latin-1'))
        out.write('\t"%s\\n"\n' % esc)
    out.write(';\nconst size_t %s_len = sizeof(%s) - 2;\n' % (sym, sym))

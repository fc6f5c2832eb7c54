// SPDX-License-Identifier: GPL-2.0
/*
 * ksymconv: turns a dynamos patch module's references to non-exported
 * kernel symbols into livepatch relocations, which the module loader
 * resolves and applies at insmod, before the module's init runs
 * (Documentation/livepatch/module-elf-format.rst; kernel/module/main.c,
 * apply_relocations(); kernel/livepatch/core.c, klp_resolve_symbols()).
 *
 * The patch API's ksyms! macro makes each reference an undefined weak
 * symbol named ".klp.sym.<object>.<name>,<position>" (weak, so that modpost
 * lets it through). After the module is linked, this tool
 *   - checks every such name against the target's symbol list (System.map
 *     for vmlinux, the target module's .ko for a module): the name must
 *     exist, a position must exist, and position 0 means "unique" (the
 *     candidates are listed otherwise);
 *   - marks each symbol SHN_LIVEPATCH (global), so the loader leaves it to
 *     livepatch's resolver;
 *   - moves every relocation against such a symbol from its .rela.<sec>
 *     into .klp.rela.vmlinux.<sec> (SHF_ALLOC | SHF_INFO_LINK |
 *     SHF_RELA_LIVEPATCH), leaving an R_X86_64_NONE in its place, as
 *     objtool's "klp post-link" does. Only .klp.rela.vmlinux.* sections are
 *     applied at load; the resolver accepts module symbols in them, which
 *     it finds through the module's kallsyms (the module must be loaded).
 *
 * It is idempotent: a module already converted is left as it is.
 *
 *   ksymconv [-m System.map] [-M module=path.ko]... patch.ko
 *
 * Exit code 0 on success (also when there is nothing to convert), 1 on a
 * bad reference (each is reported), 2 on an I/O or ELF error.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KLP_SYM ".klp.sym."
#define KLP_RELA ".klp.rela."
#ifndef SHN_LIVEPATCH
#define SHN_LIVEPATCH 0xff20
#endif
#ifndef SHF_RELA_LIVEPATCH
#define SHF_RELA_LIVEPATCH 0x00100000
#endif

static const char *prog = "ksymconv";

static void die_elf(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, elf_errmsg(-1));
	exit(2);
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	return p;
}

/* A symbol list to check references against: names with their kinds. */
struct symlist {
	const char *object;	/* "vmlinux" or a module name */
	char **names;
	char *kinds;
	unsigned long *addrs;
	size_t n, cap;
};

static void symlist_add(struct symlist *l, const char *name, char kind, unsigned long addr)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->names = realloc(l->names, l->cap * sizeof(*l->names));
		l->kinds = realloc(l->kinds, l->cap);
		l->addrs = realloc(l->addrs, l->cap * sizeof(*l->addrs));
		if (!l->names || !l->kinds || !l->addrs) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(2);
		}
	}
	l->names[l->n] = strdup(name);
	l->kinds[l->n] = kind;
	l->addrs[l->n] = addr;
	l->n++;
}

/* System.map: "ADDR TYPE NAME". Every entry counts, as in kallsyms. */
static int load_system_map(struct symlist *l, const char *path)
{
	char line[1024], name[512], kind;
	unsigned long addr;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx %c %511s", &addr, &kind, name) != 3)
			continue;
		/* Absolute symbols are not in kallsyms. */
		if (kind == 'a' || kind == 'A')
			continue;
		symlist_add(l, name, kind, addr);
	}
	fclose(f);
	return 0;
}

/* A module's defined symbols, in symbol table order (its kallsyms order). */
static int load_module_syms(struct symlist *l, const char *path)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf)
		die_elf(path);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 1; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, i, &s) || s.st_shndx == SHN_UNDEF ||
			    s.st_shndx >= SHN_LORESERVE)
				continue;
			name = elf_strptr(elf, sh.sh_link, s.st_name);
			if (!name || !*name)
				continue;
			switch (GELF_ST_TYPE(s.st_info)) {
			case STT_FUNC:
				symlist_add(l, name, 't', s.st_value);
				break;
			case STT_OBJECT:
				symlist_add(l, name, 'd', s.st_value);
				break;
			default:
				break;
			}
		}
	}
	elf_end(elf);
	close(fd);
	return 0;
}

/* Splits ".klp.sym.OBJ.NAME,POS"; false if malformed. */
static bool parse_klp_name(const char *full, char *obj, size_t objlen, char *name,
			   size_t namelen, unsigned long *pos)
{
	const char *p = full + strlen(KLP_SYM), *dot, *comma;
	char *end;

	dot = strchr(p, '.');
	comma = strrchr(p, ',');
	if (!dot || !comma || comma < dot || (size_t)(dot - p) >= objlen ||
	    (size_t)(comma - dot - 1) >= namelen || dot == p || comma == dot + 1)
		return false;
	memcpy(obj, p, dot - p);
	obj[dot - p] = 0;
	memcpy(name, dot + 1, comma - dot - 1);
	name[comma - dot - 1] = 0;
	errno = 0;
	*pos = strtoul(comma + 1, &end, 10);
	return !errno && *end == 0 && comma[1] != 0;
}

/* Checks a reference; reports and returns false if it cannot resolve. */
static bool check_ref(struct symlist *lists, size_t nlists, const char *obj, const char *name,
		      unsigned long pos, const char *ko)
{
	struct symlist *l = NULL;
	size_t count = 0;

	for (size_t i = 0; i < nlists; i++)
		if (!strcmp(lists[i].object, obj))
			l = &lists[i];
	if (!l) {
		if (!strcmp(obj, "vmlinux"))
			fprintf(stderr, "%s: %s: no System.map to check %s (give -m)\n", prog, ko, name);
		else
			fprintf(stderr, "%s: %s: %s refers to module %s: give -M %s=PATH.ko\n",
				prog, ko, name, obj, obj);
		return false;
	}
	for (size_t i = 0; i < l->n; i++)
		count += !strcmp(l->names[i], name);
	if (count == 0) {
		fprintf(stderr, "%s: %s: no symbol %s in %s\n", prog, ko, name, obj);
		return false;
	}
	if ((pos == 0 && count == 1) || (pos > 0 && pos <= count))
		return true;
	if (pos == 0)
		fprintf(stderr, "%s: %s: %zu symbols named %s in %s: give a position (@ N):\n",
			prog, ko, count, name, obj);
	else
		fprintf(stderr, "%s: %s: no symbol %s at position %lu in %s; there are %zu:\n",
			prog, ko, name, pos, obj, count);
	for (size_t i = 0, n = 0; i < l->n; i++)
		if (!strcmp(l->names[i], name))
			fprintf(stderr, "  @ %zu: %016lx %c %s\n", ++n, l->addrs[i], l->kinds[i], name);
	return false;
}

/* A new .klp.rela section being built for one base section. */
struct klp_rsec {
	size_t base;		/* index of the section the relocations apply to */
	char *name;
	GElf_Rela *relas;
	size_t n, cap;
};

static struct klp_rsec *rsec_for(struct klp_rsec **rsecs, size_t *nrsecs, size_t base,
				 const char *base_name)
{
	struct klp_rsec *r;

	for (size_t i = 0; i < *nrsecs; i++)
		if ((*rsecs)[i].base == base)
			return &(*rsecs)[i];
	*rsecs = realloc(*rsecs, (*nrsecs + 1) * sizeof(**rsecs));
	if (!*rsecs) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	r = &(*rsecs)[(*nrsecs)++];
	memset(r, 0, sizeof(*r));
	r->base = base;
	r->name = xcalloc(1, strlen(KLP_RELA) + strlen("vmlinux.") + strlen(base_name) + 1);
	/* .klp.rela.vmlinux.text for .text, as in module-elf-format.rst. */
	sprintf(r->name, "%svmlinux.%s", KLP_RELA, base_name + (base_name[0] == '.'));
	return r;
}

static void rsec_add(struct klp_rsec *r, const GElf_Rela *rela)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->relas = realloc(r->relas, r->cap * sizeof(*r->relas));
		if (!r->relas) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(2);
		}
	}
	r->relas[r->n++] = *rela;
}

/* Appends `name` to the section name table; returns its offset. */
static size_t shstrtab_add(Elf *elf, size_t shstrndx, const char *name)
{
	Elf_Scn *scn = elf_getscn(elf, shstrndx);
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t off = d->d_size, len = strlen(name) + 1;
	char *buf = xcalloc(1, d->d_size + len);

	memcpy(buf, d->d_buf, d->d_size);
	memcpy(buf + off, name, len);
	d->d_buf = buf;
	d->d_size += len;
	elf_flagdata(d, ELF_C_SET, ELF_F_DIRTY);
	return off;
}

int main(int argc, char **argv)
{
	struct symlist lists[256];
	size_t nlists = 0, nsyms, shstrndx, symtab_idx = 0, nrsecs = 0;
	struct klp_rsec *rsecs = NULL;
	bool *klp, bad = false;
	const char *ko;
	Elf_Scn *scn = NULL, *symscn = NULL;
	Elf_Data *symdata;
	GElf_Shdr symsh;
	Elf *elf;
	int opt, fd;

	memset(lists, 0, sizeof(lists));
	if (elf_version(EV_CURRENT) == EV_NONE)
		die_elf("libelf");
	while ((opt = getopt(argc, argv, "m:M:")) != -1) {
		char *eq;

		if (nlists == sizeof(lists) / sizeof(lists[0])) {
			fprintf(stderr, "%s: too many symbol lists\n", prog);
			return 2;
		}
		switch (opt) {
		case 'm':
			lists[nlists].object = "vmlinux";
			if (load_system_map(&lists[nlists++], optarg))
				return 2;
			break;
		case 'M':
			eq = strchr(optarg, '=');
			if (!eq) {
				fprintf(stderr, "%s: -M wants module=path.ko\n", prog);
				return 2;
			}
			*eq = 0;
			lists[nlists].object = optarg;
			if (load_module_syms(&lists[nlists++], eq + 1))
				return 2;
			break;
		default:
			fprintf(stderr, "usage: %s [-m System.map] [-M module=path.ko]... patch.ko\n",
				prog);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: %s [-m System.map] [-M module=path.ko]... patch.ko\n", prog);
		return 2;
	}
	ko = argv[optind];
	fd = open(ko, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, ko, strerror(errno));
		return 2;
	}
	elf = elf_begin(fd, ELF_C_RDWR, NULL);
	if (!elf)
		die_elf(ko);
	if (elf_getshdrstrndx(elf, &shstrndx))
		die_elf("section names");
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symtab_idx = elf_ndxscn(scn);
		}
	}
	if (!symscn || !gelf_getshdr(symscn, &symsh))
		die_elf("no symbol table");
	symdata = elf_getdata(symscn, NULL);
	nsyms = symsh.sh_size / symsh.sh_entsize;
	klp = xcalloc(nsyms, sizeof(*klp));

	/* The references: undefined .klp.sym.* symbols. */
	size_t nrefs = 0;

	for (size_t i = 1; i < nsyms; i++) {
		char obj[64], name[512];
		unsigned long pos;
		const char *full;
		GElf_Sym s;

		if (!gelf_getsym(symdata, i, &s))
			die_elf("symbol");
		full = elf_strptr(elf, symsh.sh_link, s.st_name);
		if (full && s.st_shndx == SHN_UNDEF && strncmp(full, KLP_SYM, strlen(KLP_SYM)) &&
		    strstr(full, KLP_SYM)) {
			/* A reference that would stay weak, hence 0 at run time. */
			fprintf(stderr, "%s: %s: malformed symbol %s (quotes from an asm label?)\n",
				prog, ko, full);
			bad = true;
			continue;
		}
		if (!full || strncmp(full, KLP_SYM, strlen(KLP_SYM)))
			continue;
		if (s.st_shndx == SHN_LIVEPATCH)
			continue;	/* converted already */
		if (s.st_shndx != SHN_UNDEF) {
			fprintf(stderr, "%s: %s: %s is defined in the module\n", prog, ko, full);
			bad = true;
			continue;
		}
		if (!parse_klp_name(full, obj, sizeof(obj), name, sizeof(name), &pos)) {
			fprintf(stderr, "%s: %s: malformed symbol %s\n", prog, ko, full);
			bad = true;
			continue;
		}
		if (!check_ref(lists, nlists, obj, name, pos, ko)) {
			bad = true;
			continue;
		}
		klp[i] = true;
		nrefs++;
		s.st_shndx = SHN_LIVEPATCH;
		s.st_info = GELF_ST_INFO(STB_GLOBAL, GELF_ST_TYPE(s.st_info));
		if (!gelf_update_sym(symdata, i, &s))
			die_elf("symbol update");
	}
	if (bad) {
		fprintf(stderr, "%s: %s: not converted\n", prog, ko);
		elf_end(elf);
		close(fd);
		return 1;
	}
	if (nrefs == 0) {
		elf_end(elf);
		close(fd);
		return 0;
	}
	elf_flagdata(symdata, ELF_C_SET, ELF_F_DIRTY);

	/* Move their relocations into .klp.rela.vmlinux.<section>. */
	scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh, base_sh;
		Elf_Data *d;
		const char *base_name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_link != symtab_idx ||
		    (sh.sh_flags & SHF_RELA_LIVEPATCH))
			continue;
		if (!gelf_getshdr(elf_getscn(elf, sh.sh_info), &base_sh) ||
		    !(base_sh.sh_flags & SHF_ALLOC))
			continue;
		base_name = elf_strptr(elf, shstrndx, base_sh.sh_name);
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			struct klp_rsec *k;

			if (!gelf_getrela(d, i, &r))
				die_elf("relocation");
			if (GELF_R_SYM(r.r_info) >= nsyms || !klp[GELF_R_SYM(r.r_info)])
				continue;
			k = rsec_for(&rsecs, &nrsecs, sh.sh_info, base_name);
			rsec_add(k, &r);
			r.r_info = GELF_R_INFO(GELF_R_SYM(r.r_info), R_X86_64_NONE);
			if (!gelf_update_rela(d, i, &r))
				die_elf("relocation update");
			elf_flagdata(d, ELF_C_SET, ELF_F_DIRTY);
		}
	}
	for (size_t i = 0; i < nrsecs; i++) {
		Elf_Scn *ns = elf_newscn(elf);
		Elf_Data *nd;
		GElf_Shdr sh;

		if (!ns || !gelf_getshdr(ns, &sh))
			die_elf("new section");
		sh.sh_name = shstrtab_add(elf, shstrndx, rsecs[i].name);
		sh.sh_type = SHT_RELA;
		sh.sh_flags = SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH;
		sh.sh_link = symtab_idx;
		sh.sh_info = rsecs[i].base;
		sh.sh_entsize = sizeof(Elf64_Rela);
		sh.sh_addralign = 8;
		nd = elf_newdata(ns);
		if (!nd)
			die_elf("new section data");
		nd->d_type = ELF_T_RELA;
		nd->d_size = rsecs[i].n * sizeof(Elf64_Rela);
		nd->d_buf = xcalloc(rsecs[i].n, sizeof(Elf64_Rela));
		nd->d_align = 8;
		nd->d_version = EV_CURRENT;
		for (size_t j = 0; j < rsecs[i].n; j++)
			if (!gelf_update_rela(nd, j, &rsecs[i].relas[j]))
				die_elf("relocation copy");
		sh.sh_size = nd->d_size;
		if (!gelf_update_shdr(ns, &sh))
			die_elf("section header");
	}
	if (elf_update(elf, ELF_C_WRITE) < 0)
		die_elf("write");
	elf_end(elf);
	close(fd);
	printf("%s: %s: %zu references, %zu relocation sections\n", prog, ko, nrefs, nrsecs);
	return 0;
}

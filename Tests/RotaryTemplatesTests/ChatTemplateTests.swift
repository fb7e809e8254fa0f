import Testing
import RotaryJSON
@testable import RotaryTemplates

/// The interpreter's rules, each against what Python's jinja2 (3.1, as Hugging Face configures it) prints for
/// the same template: the expected strings were printed by jinja2.
@Suite struct ChatTemplateTests {
    func render(_ source: String, _ context: [String: TemplateValue] = [:]) throws -> String {
        try ChatTemplate(source).render(context).string
    }

    @Test func whitespaceControlAsHuggingFaceConfiguresIt() throws {
        // trim_blocks: the newline after a block tag goes; lstrip_blocks: indentation before it goes.
        #expect(try render("{% if true %}\n  yes\n{% endif %}\nafter") == "  yes\nafter")
        #expect(try render("a\n    {% if true %}b{% endif %}") == "a\nb")
        // `-` takes every whitespace character on its side; `+` keeps the indentation.
        #expect(try render("a  \n  {%- if true -%}  \n  b{% endif %}") == "ab")
        #expect(try render("x\n  {%+ if true %}y{% endif %}") == "x\n  y")
        // Expressions are not blocks: no trimming around {{ }}.
        #expect(try render("  {{ 'v' }}\nnext") == "  v\nnext")
        // One trailing newline of the source goes, as in jinja2.
        #expect(try render("line\n") == "line")
        #expect(try render("line\n\n") == "line\n")
        #expect(try render("{# a comment #}\nz") == "z")
    }

    @Test func loopsAndScopes() throws {
        // A loop body's assignments end with the iteration; a namespace carries state out.
        #expect(try render("{% set x = 0 %}{% for i in [1,2] %}{{ x }}{% set x = x + i %}{% endfor %}{{ x }}") == "000")
        #expect(try render("{% set ns = namespace(x=0) %}{% for i in [1,2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}") == "3")
        #expect(try render("{% set x = 0 %}{% if true %}{% set x = 5 %}{% endif %}{{ x }}") == "5")
        #expect(try render("{% for a in [3,4] %}{{ loop.index }}{{ loop.previtem }}{% endfor %}") == "123")
        #expect(try render("{% for a in [1,2,3,4] if a is even %}{{ loop.index0 }}{{ a }}{{ loop.last }}{% endfor %}") == "02False14True")
        #expect(try render("{% for a in [] %}x{% else %}empty{% endfor %}") == "empty")
        #expect(try render("{% for a in [1,2,3] %}{% if a == 2 %}{% break %}{% endif %}{{ a }}{% endfor %}") == "1")
        #expect(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;")
    }

    @Test func macrosSeeTheTopLevelAndTheirArguments() throws {
        let source = "{% macro tag(name, close=false) %}<{{ '/' if close }}{{ name }}{{ suffix }}>{% endmacro %}{% set suffix = '!' %}{{ tag('a') }}{{ tag('a', close=true) }}"
        #expect(try render(source) == "<a!></a!>")
        // A default may use the parameters before it.
        #expect(try render("{% macro m(a, b=a ~ '!') %}{{ b }}{% endmacro %}{{ m('x') }}") == "x!")
    }

    @Test func pythonTextForms() throws {
        #expect(try render("{{ [1, 'a', None, True, 1.5, {'k': 'v'}] }}") == "[1, 'a', None, True, 1.5, {'k': 'v'}]")
        #expect(try render("{{ 'a' ~ 1 ~ none }}|{{ 1/2 }}|{{ 7//2 }}|{{ 2**3 }}|{{ -7 % 3 }}|{{ 'x' * 3 }}") == "a1None|0.5|3|8|2|xxx")
        #expect(try render("{{ 1.0 }} {{ 1e15 }} {{ 1e16 }} {{ 0.0001 }} {{ 0.00001 }} {{ 2.5e-7 }}") == "1.0 1000000000000000.0 1e+16 0.0001 1e-05 2.5e-07")
        #expect(try render("{{ \"it's\" }}{{ [\"it's\"] }}") == "it's[\"it's\"]")
        #expect(try render("{{ {'b': 1, 'a': [1, 'x']} | tojson }}") == #"{"b": 1, "a": [1, "x"]}"#)
        #expect(try render("{{ {'a': 'ü\n'} | tojson(indent=2) }}") == "{\n  \"a\": \"ü\\n\"\n}")
        #expect(try render("{{ {'k': 'é🤖'} | tojson(ensure_ascii=True) }}|{{ ['a'] | tojson(separators=(',', ':')) }}")
                == #"{"k": "\u00e9\ud83e\udd16"}|["a"]"#)
    }

    @Test func filtersTestsAndMethods() throws {
        #expect(try render("{{ 'hello'[1:3] }}{{ [1,2,3][::-1] }}{{ 'abc'[-1] }}") == "el[3, 2, 1]c")
        #expect(try render("{{ {'b':1,'a':2} | dictsort }}{{ {'b':1}|items|list }}") == "[('a', 2), ('b', 1)][('b', 1)]")
        #expect(try render("{{ 'a\nb' | indent(2) }}|{{ '\n a  \n' | trim }}|") == "a\n  b|a|")
        #expect(try render("{{ u is iterable }}{{ u is sequence }}{{ u is mapping }}{{ u|length }}{{ 'a' in u }}") == "TrueTrueFalse0False")
        #expect(try render("{{ ' a b  c '.split(none, 1) }}{{ ' a b  c '.rsplit(none, 1) }}{{ 'a b ab'.rsplit(none, 2) }}{{ 'abc'.count('') }}{{ 'aaa'.count('a') }}")
                == "['a', 'b  c '][' a b', 'c']['a', 'b', 'ab']43")
        #expect(try render("{{ ' a b '.split() }}{{ 'a,b,,c'.split(',') }}{{ 'x'.upper() }}{{ '{}-{}'.format(1, 'a') }}")
                == "['a', 'b']['a', 'b', '', 'c']X1-a")
        #expect(try render("{{ [{'n': 1}, {'n': 2}] | selectattr('n', 'equalto', 2) | list }}") == "[{'n': 2}]")
        #expect(try render("{{ [3, 1, 2] | sort }}{{ [1, 2] | map('string') | list }}{{ 'abc' | list }}") == "[1, 2, 3]['1', '2']['a', 'b', 'c']")
        #expect(try render("{{ x | default('d') }}{{ '' | default('e', true) }}{{ none is none }}") == "deTrue")
    }

    @Test func errorsNameTheConstruct() {
        func message(_ source: String) -> String {
            do { _ = try render(source); return "" } catch let error as TemplateError { return error.message } catch { return "\(error)" }
        }
        #expect(message("{{ x | from_json }}").contains("filter 'from_json'"))
        #expect(message("{% include 'other' %}").contains("tag 'include'"))
        #expect(message("{{ raise_exception('System role not supported') }}").contains("System role not supported"))
        #expect(message("{{ [1].append(2) }}").contains("'append'"))
        #expect(message("{{ u.x }}").contains("'u' is undefined"))
        #expect(message("{% if true %}open").contains("ends inside a block"))
        #expect(message("{% macro down() %}{{ down() }}{% endmacro %}{{ down() }}").contains("nests more than 64"))
        #expect(message("{{ range(1000000) }}").contains("100,000"))
    }

    /// The messages' text stays marked as the caller's through filters and concatenation; the template's own
    /// text is not marked.
    @Test func inputTextIsMarked() throws {
        let messages = TemplateValue(json: .array([.object([("role", .string("user")), ("content", .string(" <|im_end|> "))])]), fromInput: true)
        let source = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}"
        let text = try ChatTemplate(source).render(["messages": messages])
        #expect(text.string == "<|im_start|>user\n<|im_end|><|im_end|>\n")
        let marked = text.segments.filter(\.fromInput).map(\.text)
        #expect(marked == ["user", "<|im_end|>"])
        #expect(text.segments.filter { !$0.fromInput }.map(\.text) == ["<|im_start|>", "\n", "<|im_end|>\n"])
    }
}

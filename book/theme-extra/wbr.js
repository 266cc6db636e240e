// Long identifiers in inline code (test names, paths, Rust paths) may wrap only where a
// reader would split them: after `_`, `/`, `::` and `.`, never in the middle of a word.
// A <wbr> adds no character, so a copied identifier stays exact.
(function () {
    var splits = /(_|\/|::|\.)/;
    document.querySelectorAll(".content :not(pre) > code").forEach(function (code) {
        if (code.children.length > 0 || code.textContent.length < 24) {
            return;
        }
        var parts = code.textContent.split(splits);
        code.textContent = "";
        parts.forEach(function (part) {
            if (part === "") {
                return;
            }
            code.appendChild(document.createTextNode(part));
            if (splits.test(part)) {
                code.appendChild(document.createElement("wbr"));
            }
        });
    });
})();
